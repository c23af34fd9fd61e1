/**
 * What a backend client does on its side (CONTRACT §8), for trying the token endpoint by hand:
 *
 *   npm run -s client:assertion -- --new-key lab-1            # lab-1.private.jwk.json + lab-1.jwks.json (ES384)
 *   npm run -s client:assertion -- --new-key lab-1 --alg RS384
 *   ASSERTION=$(npm run -s client:assertion -- --key lab-1.private.jwk.json --client lab-1)
 *
 * The assertion: iss = sub = the client id, aud = `$BASE_URL/auth/token` (or --aud), exp in
 * 4 minutes, a fresh jti, signed with the private key (its `kid` and `alg`). It is printed on
 * stdout only. The private key file is written with mode 0600 and never leaves this machine:
 * register the `.jwks.json` (public) with `npm run client:register`.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadConfig } from '../src/config';

const USAGE = 'usage: npm run -s client:assertion -- --new-key NAME [--alg ES384|RS384]\n       npm run -s client:assertion -- --key PRIVATE_JWK_FILE --client CLIENT_ID [--aud TOKEN_URL]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function newKey(name: string, alg: string): Promise<void> {
  if (alg !== 'ES384' && alg !== 'RS384') fail('--alg must be ES384 or RS384');
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg, use: 'sig' };
  await fs.writeFile(`${name}.private.jwk.json`, JSON.stringify({ ...(await exportJWK(privateKey)), ...meta }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await fs.writeFile(`${name}.jwks.json`, JSON.stringify({ keys: [{ ...publicJwk, ...meta }] }, null, 2) + '\n', { flag: 'wx' });
  process.stdout.write(`wrote ${name}.private.jwk.json (keep it secret) and ${name}.jwks.json (register it)\n`);
}

async function sign(keyFile: string, clientId: string, audience: string): Promise<void> {
  const jwk = JSON.parse(await fs.readFile(keyFile, 'utf8')) as JWK;
  if (typeof jwk.alg !== 'string' || typeof jwk.kid !== 'string') fail(`${keyFile} needs "alg" and "kid" (made by --new-key)`);
  const key = (await importJWK(jwk, jwk.alg)) as CryptoKey;
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('4m')
    .setJti(randomUUID())
    .sign(key);
  process.stdout.write(`${assertion}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { 'new-key': { type: 'string' }, alg: { type: 'string', default: 'ES384' }, key: { type: 'string' }, client: { type: 'string' }, aud: { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  if (values['new-key']) return newKey(values['new-key'], values.alg as string);
  if (!values.key || !values.client) fail('--key and --client are required (or --new-key NAME)');
  return sign(values.key, values.client, values.aud ?? `${loadConfig().baseUrl}/auth/token`);
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
