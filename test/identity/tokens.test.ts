/** Bearer token verification (§3), as tables: which tokens are accepted, which get 401 and which challenge. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import { FhirError } from '../../src/kernel/errors';
import { loadLocalKeys, PRIVATE_KEY_FILE, type LocalKeys } from '../../src/identity/local-keys';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from '../../src/identity/tokens';

const IDP = 'https://idp.example.org';
const LOCAL = 'http://localhost:8080';
const AUDIENCE = 'https://carnet.example.org/fhir';
const now = () => Math.floor(Date.now() / 1000);

interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey | Uint8Array;
  publicJwk?: JWK;
}

async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function jwksOf(...keys: SigningKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => k.publicJwk as JWK) };
}

/** A token with sensible IdP claims; `claims` overrides them, `undefined` removes one. */
function mint(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload: Record<string, unknown> = { iss: IDP, sub: 'user-1', iat: now(), exp: now() + 300, ...claims };
  for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
  return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

type Outcome = 'accepted' | { status: number; challenge: string | undefined };

async function outcome(verifier: TokenVerifier, authorization: string | undefined): Promise<Outcome> {
  try {
    await verifier.verify(authorization);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof FhirError)) throw error;
    expect(error.issues[0].code).toBe('login');
    return { status: error.status, challenge: error.headers['WWW-Authenticate'] };
  }
}

const INVALID = { status: 401, challenge: 'Bearer error="invalid_token"' };
const MISSING = { status: 401, challenge: 'Bearer realm="carnet"' };

let dir: string;
let rsa: SigningKey;
let ec: SigningKey;
let stranger: SigningKey;
let local: LocalKeys;
let localPrivate: SigningKey;
let jwksFile: string;
let served: JSONWebKeySet;
let fetches = 0;
let server: Server;
let jwksUrl: string;
let verifiers: Record<'file' | 'url' | 'audience', TokenVerifier>;

function verifierFor(jwks: string, extra: Partial<TokenVerifierOptions> = {}): TokenVerifier {
  return createTokenVerifier({ issuer: IDP, jwks, localIssuer: LOCAL, localKeys: local.publicJwks, jwksCooldownMs: 0, ...extra });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'carnet-tokens-'));
  [rsa, ec, stranger] = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1'), signingKey('RS256', 'rsa-1')]);
  local = await loadLocalKeys({ dir: path.join(dir, 'local'), issuer: LOCAL });
  const jwk = JSON.parse(readFileSync(path.join(dir, 'local', PRIVATE_KEY_FILE), 'utf8')) as JWK;
  localPrivate = { alg: 'ES256', kid: local.kid, privateKey: (await importJWK(jwk, 'ES256')) as CryptoKey };
  jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwksOf(rsa, ec)));
  served = jwksOf(rsa, ec);
  server = createServer((req, res) => {
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  verifiers = { file: verifierFor(jwksFile), url: verifierFor(jwksUrl), audience: verifierFor(jwksFile, { audience: AUDIENCE }) };
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('accepted tokens', () => {
  it.each([
    ['file', 'RS256'],
    ['file', 'ES256'],
    ['url', 'RS256'],
    ['url', 'ES256'],
  ] as const)('JWKS from a %s, %s', async (source, alg) => {
    const token = await mint(alg === 'RS256' ? rsa : ec);
    const payload = await verifiers[source].verify(`Bearer ${token}`);
    expect(payload).toMatchObject({ iss: IDP, sub: 'user-1' });
  });

  it.each(['file', 'url'] as const)('a token Carnet issued itself (JWKS from a %s)', async (source) => {
    const token = await local.issueToken({ sub: 'Patient/123', fhirUser: 'Patient/123' }, { expiresIn: '5m' });
    expect(await verifiers[source].verify(`Bearer ${token}`)).toMatchObject({ iss: LOCAL, sub: 'Patient/123', fhirUser: 'Patient/123' });
  });

  it('the scheme name is case-insensitive', async () => {
    expect(await outcome(verifiers.file, `bearer ${await mint(ec)}`)).toBe('accepted');
  });
});

describe('refused tokens → 401', () => {
  const cases: [string, () => Promise<string | undefined>, Outcome, string][] = [
    ['no Authorization header', async () => undefined, MISSING, 'missing bearer token'],
    ['an empty Authorization header', async () => '', MISSING, 'missing bearer token'],
    ['another scheme', async () => 'Basic dXNlcjpwYXNz', INVALID, 'scheme must be Bearer'],
    ['Bearer without a token', async () => 'Bearer', INVALID, 'malformed'],
    ['garbage', async () => 'Bearer not-a-jwt', INVALID, 'malformed'],
    ['three garbage parts', async () => 'Bearer aaa.bbb.ccc', INVALID, 'malformed'],
    ['two tokens', async () => `Bearer ${await mint(ec)} ${await mint(ec)}`, INVALID, 'malformed'],
    ['expired', async () => `Bearer ${await mint(ec, { exp: now() - 120 })}`, INVALID, 'expired'],
    ['not yet valid (nbf)', async () => `Bearer ${await mint(ec, { nbf: now() + 600 })}`, INVALID, '"nbf" claim is not acceptable'],
    ['a wrong issuer', async () => `Bearer ${await mint(ec, { iss: 'https://evil.example.org' })}`, INVALID, 'issuer is not trusted'],
    ['no iss', async () => `Bearer ${await mint(ec, { iss: undefined })}`, INVALID, '"iss" claim is missing'],
    ['no sub', async () => `Bearer ${await mint(ec, { sub: undefined })}`, INVALID, '"sub" claim is missing'],
    ['an empty sub', async () => `Bearer ${await mint(ec, { sub: '' })}`, INVALID, '"sub" claim must be a non-empty string'],
    ['no exp', async () => `Bearer ${await mint(ec, { exp: undefined })}`, INVALID, '"exp" claim is missing'],
    ['a non-numeric exp', async () => `Bearer ${await mint(ec, { exp: 'tomorrow' })}`, INVALID, '"exp" claim is not acceptable'],
    ['HS256 with a shared secret', async () => `Bearer ${await mint({ alg: 'HS256', kid: 'rsa-1', privateKey: new TextEncoder().encode('a-shared-secret-of-32-bytes-long!') })}`, INVALID, 'algorithm is not accepted'],
    ['HS256 keyed with the RSA public key (alg confusion)', async () => `Bearer ${await mint({ alg: 'HS256', kid: 'rsa-1', privateKey: new TextEncoder().encode(await exportSPKI((await importJWK(rsa.publicJwk as JWK, 'RS256')) as CryptoKey)) })}`, INVALID, 'algorithm is not accepted'],
    ['alg none', async () => `Bearer ${new UnsecuredJWT({ iss: IDP, sub: 'user-1', exp: now() + 300 }).encode()}`, INVALID, 'algorithm is not accepted'],
    ['signed by a stranger with a known kid', async () => `Bearer ${await mint(stranger)}`, INVALID, 'signature is invalid'],
    ['signed by a stranger with an unknown kid', async () => `Bearer ${await mint({ ...stranger, kid: 'nobody' })}`, INVALID, 'signing key is not trusted'],
    ['RS256 header on an EC key id', async () => `Bearer ${await mint({ ...rsa, kid: 'ec-1' })}`, INVALID, 'signing key is not trusted'],
    ['a tampered payload', async () => `Bearer ${tamper(await mint(ec))}`, INVALID, 'signature is invalid'],
    ['local issuer but signed by the IdP', async () => `Bearer ${await mint(ec, { iss: LOCAL })}`, INVALID, 'signing key is not trusted'],
    ['IdP issuer but signed by the local key', async () => `Bearer ${await mint(localPrivate)}`, INVALID, 'signing key is not trusted'],
  ];
  it.each(cases)('%s', async (_name, authorization, expected, reason) => {
    const header = await authorization();
    for (const verifier of [verifiers.file, verifiers.url]) {
      expect(await outcome(verifier, header)).toEqual(expected);
      await expect(verifier.verify(header)).rejects.toThrow(reason);
    }
  });

  it('never quotes the token in the error', async () => {
    const token = await mint(ec, { iss: 'https://evil.example.org' });
    const error = await verifiers.file.verify(`Bearer ${token}`).catch((e: FhirError) => e);
    expect(JSON.stringify((error as FhirError).issues)).not.toContain(token.split('.')[1]);
  });
});

/** Flips the payload to another claim set while keeping the signature. */
function tamper(token: string): string {
  const [header, , signature] = token.split('.');
  const payload = Buffer.from(JSON.stringify({ iss: IDP, sub: 'admin', exp: now() + 300 })).toString('base64url');
  return [header, payload, signature].join('.');
}

describe('audience (AUTH_AUDIENCE set)', () => {
  it.each<[string, Record<string, unknown>, Outcome]>([
    ['the expected aud', { aud: AUDIENCE }, 'accepted'],
    ['aud as a list holding it', { aud: ['https://other.example.org', AUDIENCE] }, 'accepted'],
    ['a wrong aud', { aud: 'https://other.example.org' }, INVALID],
    ['no aud', {}, INVALID],
  ])('%s', async (_name, claims, expected) => {
    expect(await outcome(verifiers.audience, `Bearer ${await mint(rsa, claims)}`)).toEqual(expected);
  });

  it('does not apply to tokens Carnet issued itself', async () => {
    const token = await local.issueToken({ sub: 'Patient/1', fhirUser: 'Patient/1' });
    expect(await outcome(verifiers.audience, `Bearer ${token}`)).toBe('accepted');
  });
});

describe('key rotation', () => {
  it('re-reads a JWKS file when a token names an unknown kid', async () => {
    const next = await signingKey('ES256', 'ec-2');
    const verifier = verifierFor(jwksFile);
    expect(await outcome(verifier, `Bearer ${await mint(next)}`)).toEqual(INVALID);
    writeFileSync(jwksFile, JSON.stringify(jwksOf(rsa, ec, next)));
    expect(await outcome(verifier, `Bearer ${await mint(next)}`)).toBe('accepted');
    expect(await outcome(verifier, `Bearer ${await mint(rsa)}`)).toBe('accepted');
  });

  it('caches a JWKS URL and re-fetches it on an unknown kid', async () => {
    const next = await signingKey('RS256', 'rsa-2');
    const verifier = verifierFor(jwksUrl);
    const before = fetches;
    expect(await outcome(verifier, `Bearer ${await mint(rsa)}`)).toBe('accepted');
    expect(await outcome(verifier, `Bearer ${await mint(ec)}`)).toBe('accepted');
    expect(fetches - before).toBe(1);
    served = jwksOf(rsa, ec, next);
    expect(await outcome(verifier, `Bearer ${await mint(next)}`)).toBe('accepted');
    expect(fetches - before).toBe(2);
  });

  it('does not re-fetch within the cooldown', async () => {
    const verifier = verifierFor(jwksUrl, { jwksCooldownMs: 60_000 });
    const before = fetches;
    expect(await outcome(verifier, `Bearer ${await mint(rsa)}`)).toBe('accepted');
    expect(await outcome(verifier, `Bearer ${await mint({ ...stranger, kid: 'unknown' })}`)).toEqual(INVALID);
    expect(fetches - before).toBe(1);
  });

  it('answers 401, not 500, when the JWKS URL is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await outcome(verifierFor(url), `Bearer ${await mint(rsa)}`)).toEqual(INVALID);
  });
});

describe('configuration', () => {
  it.each<[string, Partial<TokenVerifierOptions>]>([
    ['an issuer without a JWKS', { jwks: undefined }],
    ['a JWKS without an issuer', { issuer: undefined }],
    ['a JWKS file that does not exist', { jwks: '/nonexistent/jwks.json' }],
  ])('refuses %s at start', (_name, options) => {
    expect(() => verifierFor(jwksFile, options)).toThrow();
  });

  it('trusts only its own tokens without AUTH_ISSUER', async () => {
    const verifier = createTokenVerifier({ localIssuer: LOCAL, localKeys: local.publicJwks });
    expect(await outcome(verifier, `Bearer ${await local.issueToken({ sub: 'Patient/1' })}`)).toBe('accepted');
    expect(await outcome(verifier, `Bearer ${await mint(rsa)}`)).toEqual(INVALID);
  });
});
