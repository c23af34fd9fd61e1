/**
 * An identity provider's new signing key (CONTRACT §3, issue 13): with
 * AUTH_JWKS naming a *file*, a key the operator adds to the file is trusted
 * once a token names its unknown `kid` — the file is re-read at most once per
 * JWKS_COOLDOWN_MS, so a stream of unknown kids cannot make the server read
 * it on every request. Over HTTP, with the production composition.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { JWKS_COOLDOWN_MS } from '../../src/identity/tokens';
import { get, startTestServer, type TestServer } from '../support/server';

const IDP = 'https://idp.example.org';

interface ProviderKey {
  alg: 'RS256' | 'ES256';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function providerKey(alg: 'RS256' | 'ES256', kid: string): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A token of the identity provider for a system client that may search Patients. */
function tokenOf(key: ProviderKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: 'system/Patient.read' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(IDP)
    .setSubject('lab-system')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(key.privateKey);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a key added to the AUTH_JWKS file', () => {
  let dir: string;
  let jwksFile: string;
  let server: TestServer;
  let keyA: ProviderKey;
  let keyB: ProviderKey;
  let startedAt: number;
  const statusWith = async (key: ProviderKey) => (await get(server, 'Patient?_count=1', await tokenOf(key))).status;
  const writeJwks = (...keys: ProviderKey[]) => writeFileSync(jwksFile, JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'carnet-jwks-'));
    jwksFile = path.join(dir, 'idp-jwks.json');
    [keyA, keyB] = await Promise.all([providerKey('RS256', 'idp-2025'), providerKey('ES256', 'idp-2026')]);
    writeJwks(keyA);
    server = await startTestServer({ AUTH_ISSUER: IDP, AUTH_JWKS: jwksFile });
    startedAt = Date.now();
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is trusted after the cooldown, and not before', async () => {
    expect(await statusWith(keyA)).toBe(200);
    await sleep(Math.max(0, startedAt + JWKS_COOLDOWN_MS + 100 - Date.now()));

    const refused = await get(server, 'Patient?_count=1', await tokenOf(keyB));
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    const lastRead = Date.now(); // the unknown kid made the server re-read the file, which did not hold it yet

    writeJwks(keyA, keyB);
    expect(await statusWith(keyB)).toBe(401); // within the cooldown: the file is not read again

    let status = 401;
    while (status !== 200 && Date.now() - lastRead < JWKS_COOLDOWN_MS + 3_000) {
      await sleep(250);
      status = await statusWith(keyB);
    }
    expect(status).toBe(200);
    expect(Date.now() - lastRead).toBeGreaterThanOrEqual(JWKS_COOLDOWN_MS - 300);
    expect(await statusWith(keyA)).toBe(200);
  });
});
