/**
 * Secrets of the door, never kept in clear: the NIR, the Vitale serial and every code are
 * stored as HMAC-SHA256 under the `account-keys` server secret (one per database, shared by
 * every process). A stolen table alone gives no NIR and no code; comparing is a lookup.
 * Also draws the codes: the 12-character provisional code from an alphabet without
 * look-alike characters, the 6-digit one-time code, opaque refresh tokens.
 * Never logs or returns a key or a code except to the caller that asked for it.
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** No 0/O, 1/I/L, 5/S, 2/Z, 8/B: what a letter read aloud or retyped cannot confuse. */
export const CODE_ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';
export const PROVISIONAL_CODE_LENGTH = 12;

export class AccountKeys {
  constructor(private readonly secret: Buffer) {}

  /** The keyed hash of a value of one kind (`nir`, `vitale`, `code`, `otp`, `refresh`). */
  key(kind: string, value: string): string {
    return createHmac('sha256', this.secret).update(`${kind}\u0000${value}`).digest('base64url');
  }

  nir(nir: string): string {
    return this.key('nir', normaliseNir(nir));
  }

  vitale(serial: string): string {
    return this.key('vitale', serial.trim());
  }

  /** Provisional codes are compared without case, spaces or dashes (as typed from a letter). */
  provisionalCode(code: string): string {
    return this.key('code', normaliseCode(code));
  }

  oneTimeCode(challengeId: string, code: string): string {
    return this.key('otp', `${challengeId}:${code.trim()}`);
  }

  refreshToken(token: string): string {
    return this.key('refresh', token);
  }
}

/** Equal keys, compared in constant time. */
export function sameKey(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function drawProvisionalCode(): string {
  let code = '';
  for (let i = 0; i < PROVISIONAL_CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

export function drawOneTimeCode(): string {
  return String(randomInt(1_000_000)).padStart(6, '0');
}

export function drawRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function normaliseNir(nir: string): string {
  return nir.replace(/\s+/g, '').toUpperCase();
}

export function normaliseCode(code: string): string {
  return code.replace(/[\s-]+/g, '').toUpperCase();
}

/** A NIR as the INS uses it: 13 characters (digits, 2A/2B for Corsica) and a 2-digit key, or the 15 together. */
export function isNir(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9]{5}(2[AB]|[0-9]{2})[0-9]{8}$/.test(normaliseNir(value));
}

export function isVitaleSerial(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9]{8,13}$/.test(value.trim());
}
