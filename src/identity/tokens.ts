/**
 * Bearer token verification (§3): turns an `Authorization` header into the
 * verified claims of a JWT, or a 401 FhirError carrying `WWW-Authenticate`.
 *
 * Two kinds of issuer are trusted:
 * - Carnet itself (`iss` = localIssuer), verified with the server's own public
 *   keys (local-keys.ts);
 * - the configured identity provider (`iss` = AUTH_ISSUER), verified with the
 *   JWKS at AUTH_JWKS: a file (read once, re-read on an unknown `kid`) or an
 *   http(s) URL (cached, re-fetched on an unknown `kid`).
 * Only RS256 and ES256 are accepted; `iss`, `sub` and `exp` are required;
 * `aud` is checked for identity-provider tokens when an audience is set
 * (tokens Carnet issues are for Carnet only and carry no audience).
 *
 * Must never log a token, nor put any part of one in an error message.
 */
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { FhirError } from '../kernel/errors';

export interface TokenVerifierOptions {
  /** Expected `iss` of identity-provider tokens (AUTH_ISSUER). */
  issuer?: string;
  /** The identity provider's JWKS: a file path or an http(s) URL (AUTH_JWKS). */
  jwks?: string;
  /** Expected `aud` of identity-provider tokens (AUTH_AUDIENCE). */
  audience?: string;
  /** `iss` of the tokens Carnet issues itself. */
  localIssuer: string;
  /** Public keys of the tokens Carnet issues itself. */
  localKeys: JSONWebKeySet;
  /** Minimum time between two re-reads of the JWKS (file or URL) on an unknown `kid` (default JWKS_COOLDOWN_MS, 5 s). */
  jwksCooldownMs?: number;
  /** How long a fetched remote JWKS is trusted without re-fetching (default 10 min). */
  jwksMaxAgeMs?: number;
  /** Allowed clock skew in seconds for `exp`/`nbf` (default 30). */
  clockToleranceSeconds?: number;
}

export interface TokenVerifier {
  /** Verifies `Authorization: Bearer <JWT>`; resolves to the token's claims or throws a 401 FhirError. */
  verify(authorization: string | undefined): Promise<JWTPayload>;
}

export const TRUSTED_ALGORITHMS = ['RS256', 'ES256'] as const;

/**
 * Minimum time between two re-reads of the identity provider's JWKS prompted
 * by an unknown `kid`: a key added to it is trusted from the first token that
 * names it this long after the previous re-read (or the start).
 */
export const JWKS_COOLDOWN_MS = 5_000;

const REQUIRED_CLAIMS = ['iss', 'sub', 'exp'];

/** 401 for a request carrying no credentials: a challenge, no error code (RFC 6750 §3.1). */
export function missingToken(message = 'missing bearer token'): FhirError {
  return new FhirError(401, 'login', message, undefined, { 'WWW-Authenticate': 'Bearer realm="carnet"' });
}

/** 401 for a token that is present but not acceptable. */
export function invalidToken(message: string): FhirError {
  return new FhirError(401, 'login', message, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (!options.issuer !== !options.jwks) throw new Error('AUTH_ISSUER and AUTH_JWKS must be set together');
  const cooldownMs = options.jwksCooldownMs ?? JWKS_COOLDOWN_MS;
  const localKeys = createLocalJWKSet(options.localKeys);
  const providerKeys = options.jwks ? jwksSource(options.jwks, cooldownMs, options.jwksMaxAgeMs ?? 600_000) : undefined;
  const clockTolerance = options.clockToleranceSeconds ?? 30;

  async function verify(authorization: string | undefined): Promise<JWTPayload> {
    const token = bearerToken(authorization);
    const iss = untrustedIssuer(token);
    let keys: JWTVerifyGetKey;
    let audience: string | undefined;
    if (iss === options.localIssuer) {
      keys = localKeys;
    } else if (providerKeys && iss === options.issuer) {
      keys = providerKeys;
      audience = options.audience;
    } else {
      throw invalidToken('token issuer is not trusted');
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: iss,
        audience,
        algorithms: [...TRUSTED_ALGORITHMS],
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance,
      });
      if (typeof payload.sub !== 'string' || payload.sub === '') throw invalidToken('token "sub" claim must be a non-empty string');
      return payload;
    } catch (error) {
      throw error instanceof FhirError ? error : invalidToken(reasonOf(error));
    }
  }

  const verified = new VerifiedTokens(clockTolerance);
  return {
    verify: async (authorization) => {
      const token = bearerToken(authorization);
      const cached = verified.get(token);
      if (cached) return cached;
      const payload = await verify(authorization);
      verified.add(token, payload);
      return payload;
    },
  };
}

/**
 * Tokens already verified, until they expire: a signature check costs more
 * than the rest of a read. Keyed by the exact token text, bounded in size;
 * an entry is never served past the token's `exp` (plus the clock tolerance)
 * or before its `nbf`.
 */
class VerifiedTokens {
  private static readonly MAX = 10_000;
  private readonly entries = new Map<string, JWTPayload>();

  constructor(private readonly toleranceSeconds: number) {}

  get(token: string): JWTPayload | undefined {
    const payload = this.entries.get(token);
    if (!payload) return undefined;
    const now = Date.now() / 1000;
    if ((payload.exp ?? 0) + this.toleranceSeconds <= now || (payload.nbf !== undefined && payload.nbf - this.toleranceSeconds > now)) {
      this.entries.delete(token);
      return undefined;
    }
    return payload;
  }

  add(token: string, payload: JWTPayload): void {
    if (this.entries.size >= VerifiedTokens.MAX) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, payload);
  }
}

/** Extracts the compact JWT from `Bearer <token>`. */
function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') throw missingToken();
  const match = /^Bearer +([A-Za-z0-9_\-.~+/]+=*) *$/i.exec(authorization);
  if (!match) throw invalidToken(/^Bearer\b/i.test(authorization) ? 'malformed bearer token' : 'authorization scheme must be Bearer');
  return match[1];
}

/** Reads `iss` and checks `alg` before any key is chosen; nothing here is trusted yet. */
function untrustedIssuer(token: string): string {
  let alg: unknown;
  let iss: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
    iss = decodeJwt(token).iss;
  } catch {
    throw invalidToken('malformed token');
  }
  if (typeof alg !== 'string' || !(TRUSTED_ALGORITHMS as readonly string[]).includes(alg)) throw invalidToken('token algorithm is not accepted');
  if (typeof iss !== 'string' || iss === '') throw invalidToken('token "iss" claim is missing');
  return iss;
}

/** A message safe to return: jose's own messages never quote the token. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `token "${error.claim}" claim is ${error.reason === 'missing' ? 'missing' : 'not acceptable'}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token signing key is not trusted';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'token has no "kid" and several keys match';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not accepted';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return 'identity provider keys are unavailable';
  if (error instanceof errors.JOSEError) return 'token is invalid';
  return 'token could not be verified';
}

function jwksSource(location: string, cooldownMs: number, maxAgeMs: number): JWTVerifyGetKey {
  if (/^https?:\/\//i.test(location)) {
    return createRemoteJWKSet(new URL(location), { cooldownDuration: cooldownMs, cacheMaxAge: maxAgeMs, timeoutDuration: 5_000 });
  }
  return fileJwks(location, cooldownMs);
}

function readJwksFile(path: string): JSONWebKeySet {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new Error(`AUTH_JWKS file ${path} is not a JWK set`);
  }
  return parsed as JSONWebKeySet;
}

/**
 * A JWKS file, read once (at start: a bad path fails fast) and re-read when a
 * token names a `kid` it does not hold, at most once per cooldown. A file that
 * became unreadable keeps the previous keys.
 */
function fileJwks(path: string, cooldownMs: number): JWTVerifyGetKey {
  let keys = createLocalJWKSet(readJwksFile(path));
  let readAt = Date.now();
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - readAt < cooldownMs) throw error;
      readAt = Date.now();
      try {
        keys = createLocalJWKSet(readJwksFile(path));
      } catch {
        throw error;
      }
      return keys(header, token);
    }
  };
}
