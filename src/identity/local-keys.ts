/**
 * The server's own signing key (ES256): signs the tokens Carnet issues itself
 * (patient login, §7; development tokens from scripts/token.ts) and publishes
 * the matching public JWKS so the verifier, and later clients, can check them.
 *
 * Keys live in DEV_KEY_DIR (config.devKeyDir): `signing-key.jwk.json` (the
 * private JWK, mode 0600) and `jwks.json` (the public JWK set). Both are
 * created on first use; two processes starting together agree on one key.
 *
 * Must never log a token or the private key, and never put the private key in
 * anything it returns.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';

export const LOCAL_ALGORITHM = 'ES256';
export const PRIVATE_KEY_FILE = 'signing-key.jwk.json';
export const PUBLIC_JWKS_FILE = 'jwks.json';

export interface IssueOptions {
  /** Lifetime: seconds, or a jose time span such as `10m`, `1h`, `7d` (default `1h`). */
  expiresIn?: number | string;
}

/** Claims of a token Carnet issues: `sub` is required, `iss`/`iat`/`exp`/`jti` are set here. */
export type IssuedClaims = Omit<JWTPayload, 'iss' | 'iat' | 'exp' | 'jti'> & { sub: string };

export interface LocalKeys {
  /** `iss` of every token signed here. */
  issuer: string;
  /** `kid` of the signing key (its JWK thumbprint). */
  kid: string;
  /** The public JWK set, safe to serve. */
  publicJwks: JSONWebKeySet;
  /** Signs a JWT with the local key. */
  issueToken(claims: IssuedClaims, options?: IssueOptions): Promise<string>;
}

/** The issuer of the tokens Carnet issues: the server's base URL. */
export function localIssuerOf(config: { baseUrl: string }): string {
  return config.baseUrl;
}

/** Loads the signing key from `dir`, generating it there on first use. */
export async function loadLocalKeys(options: { dir: string; issuer: string }): Promise<LocalKeys> {
  const privateJwk = await readOrCreatePrivateJwk(options.dir);
  const publicJwk = publicPart(privateJwk);
  const publicJwks: JSONWebKeySet = { keys: [publicJwk] };
  await writePublicJwks(options.dir, publicJwks);
  const signingKey = (await importJWK(privateJwk, LOCAL_ALGORITHM)) as CryptoKey;
  const kid = publicJwk.kid as string;

  async function issueToken(claims: IssuedClaims, issue: IssueOptions = {}): Promise<string> {
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: LOCAL_ALGORITHM, kid, typ: 'JWT' })
      .setIssuer(options.issuer)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(expiresAt(issue.expiresIn ?? '1h'))
      .sign(signingKey);
  }

  return { issuer: options.issuer, kid, publicJwks, issueToken };
}

/** `exp` for a lifetime: seconds from now, or a jose span like `1h` made relative to now. */
function expiresAt(expiresIn: number | string): number | string {
  if (typeof expiresIn === 'number') return Math.floor(Date.now() / 1000) + expiresIn;
  return /^\d+$/.test(expiresIn) ? Math.floor(Date.now() / 1000) + Number(expiresIn) : expiresIn;
}

function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y, kid } = jwk;
  return { kty, crv, x, y, kid, alg: LOCAL_ALGORITHM, use: 'sig' };
}

async function readOrCreatePrivateJwk(dir: string): Promise<JWK> {
  const file = path.join(dir, PRIVATE_KEY_FILE);
  const existing = await readPrivateJwk(file);
  if (existing) return existing;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const created = await generatePrivateJwk();
  // Write aside, then link into place: the link fails if another process won the race.
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await fs.writeFile(temp, JSON.stringify(created, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(temp, file);
    return created;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readPrivateJwk(file);
    if (!winner) throw new Error(`${file} exists but holds no key`);
    return winner;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function readPrivateJwk(file: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const jwk = JSON.parse(text) as JWK;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') throw new Error(`${file} is not a P-256 private JWK`);
  if (!jwk.kid) jwk.kid = await calculateJwkThumbprint(jwk);
  return jwk;
}

async function generatePrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(LOCAL_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = LOCAL_ALGORITHM;
  jwk.use = 'sig';
  return jwk;
}

/** Rewrites `jwks.json` when it differs, atomically (write aside, rename). */
async function writePublicJwks(dir: string, jwks: JSONWebKeySet): Promise<void> {
  const file = path.join(dir, PUBLIC_JWKS_FILE);
  const text = JSON.stringify(jwks, null, 2) + '\n';
  const current = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (current === text) return;
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await fs.writeFile(temp, text, { mode: 0o644 });
  await fs.rename(temp, file);
}
