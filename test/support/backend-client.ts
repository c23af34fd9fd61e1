/**
 * A SMART backend-services client as a laboratory would run it (CONTRACT §8): its own key
 * pairs (RS384, ES384) made with jose, its client assertions, the clients file it is
 * registered in, and token requests over HTTP. Data and helpers only; the server is
 * test/support/server.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type supertest from 'supertest';
import { BASE } from './server';

export const TOKEN_URL = `${BASE}/auth/token`;
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientKey {
  alg: 'RS384' | 'ES384';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function clientKey(alg: ClientKey['alg'], kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A client assertion signed with `key`: iss = sub = clientId, aud = the token endpoint, exp in 4 minutes, a fresh jti; `claims` replace any of them (undefined removes). */
export async function assertion(key: ClientKey, clientId: string, claims: Partial<Record<keyof JWTPayload, unknown>> = {}, kid: string | undefined = key.kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { iss: clientId, sub: clientId, aud: TOKEN_URL, exp: now + 240, iat: now, jti: randomUUID(), ...claims };
  for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, ...(kid ? { kid } : {}), typ: 'JWT' }).sign(key.privateKey);
}

/** The form a backend client posts to the token endpoint. */
export function tokenForm(clientAssertion: string, scope: string): Record<string, string> {
  return { grant_type: 'client_credentials', scope, client_assertion_type: JWT_BEARER, client_assertion: clientAssertion };
}

export function postToken(request: supertest.Agent | supertest.SuperTest<supertest.Test>, form: Record<string, string>) {
  return request.post('/auth/token').type('form').send(form);
}

/** A clients file in a temporary directory of its own; `remove()` deletes it. */
export function clientsFile(clients: unknown[]): { file: string; write: (next: unknown[]) => void; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-clients-'));
  const file = path.join(dir, 'clients.json');
  const write = (next: unknown[]) => {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(next));
    fs.renameSync(`${file}.tmp`, file);
  };
  write(clients);
  return { file, write, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
