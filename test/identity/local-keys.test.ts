/** The server's own signing key: generated once, kept private, trusted by the verifier. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { loadLocalKeys, localIssuerOf, PRIVATE_KEY_FILE, PUBLIC_JWKS_FILE } from '../../src/identity/local-keys';
import { createTokenVerifier } from '../../src/identity/tokens';

const ISSUER = localIssuerOf({ baseUrl: 'http://localhost:8080' });
const made: string[] = [];
const freshDir = () => {
  const root = mkdtempSync(path.join(tmpdir(), 'carnet-keys-'));
  made.push(root);
  return path.join(root, 'dev-keys');
};
afterAll(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

describe('local keys', () => {
  it('generates an ES256 key on first use, the private file readable by its owner only', async () => {
    const dir = freshDir();
    const keys = await loadLocalKeys({ dir, issuer: ISSUER });
    expect(statSync(path.join(dir, PRIVATE_KEY_FILE)).mode & 0o777).toBe(0o600);
    const published = JSON.parse(readFileSync(path.join(dir, PUBLIC_JWKS_FILE), 'utf8'));
    expect(published).toEqual(keys.publicJwks);
    expect(keys.publicJwks.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', kid: keys.kid, alg: 'ES256' })]);
    expect(JSON.stringify(keys.publicJwks)).not.toMatch(/"d"/);
  });

  it('loads the same key on the next start', async () => {
    const dir = freshDir();
    const first = await loadLocalKeys({ dir, issuer: ISSUER });
    const second = await loadLocalKeys({ dir, issuer: ISSUER });
    expect(second.kid).toBe(first.kid);
  });

  it('agrees on one key when several processes start together', async () => {
    const dir = freshDir();
    const all = await Promise.all(Array.from({ length: 8 }, () => loadLocalKeys({ dir, issuer: ISSUER })));
    expect(new Set(all.map((k) => k.kid)).size).toBe(1);
    const onDisk = await loadLocalKeys({ dir, issuer: ISSUER });
    expect(onDisk.kid).toBe(all[0].kid);
  });

  it('issues tokens the verifier accepts as its own', async () => {
    const keys = await loadLocalKeys({ dir: freshDir(), issuer: ISSUER });
    const token = await keys.issueToken({ sub: 'Patient/123', fhirUser: 'Patient/123', scope: 'patient/*.rs' }, { expiresIn: '10m' });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: keys.kid });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: ISSUER, sub: 'Patient/123', scope: 'patient/*.rs' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
    const verifier = createTokenVerifier({ localIssuer: ISSUER, localKeys: keys.publicJwks });
    await expect(verifier.verify(`Bearer ${token}`)).resolves.toMatchObject({ fhirUser: 'Patient/123' });
  });

  it.each<[number | string, number]>([
    [90, 90],
    ['3600', 3600],
    ['2h', 7200],
  ])('expiresIn %p lasts %i s', async (expiresIn, seconds) => {
    const keys = await loadLocalKeys({ dir: freshDir(), issuer: ISSUER });
    const claims = decodeJwt(await keys.issueToken({ sub: 'x' }, { expiresIn }));
    expect((claims.exp as number) - (claims.iat as number)).toBe(seconds);
  });

  it('refuses tokens of another key directory', async () => {
    const mine = await loadLocalKeys({ dir: freshDir(), issuer: ISSUER });
    const theirs = await loadLocalKeys({ dir: freshDir(), issuer: ISSUER });
    const verifier = createTokenVerifier({ localIssuer: ISSUER, localKeys: mine.publicJwks });
    await expect(verifier.verify(`Bearer ${await theirs.issueToken({ sub: 'Patient/1' })}`)).rejects.toMatchObject({ status: 401 });
  });
});
