/**
 * Sealed paging tokens: what a `next` link carries between two requests
 * (search positions, history sequence numbers, activity-history keys) goes
 * out as base64url of `iv(12) | tag(16) | AES-256-GCM(JSON)`, the IV an HMAC
 * of the JSON so the same position always gives the same link. Keys are
 * derived (HKDF) from one secret shared by every process serving the
 * database and from the token's purpose, so a token of one kind never opens
 * as another. Never shows a row number, a sort value or a time in clear;
 * never opens a token that was changed, forged or sealed with another secret.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class Sealer {
  private readonly encryptionKey: Buffer;
  private readonly ivKey: Buffer;

  /** `secret`: at least 32 random bytes; `purpose`: what the tokens are (their keys are its own). */
  constructor(secret: Buffer, purpose: string) {
    if (secret.length < 32) throw new Error('a sealing secret must hold at least 32 bytes');
    this.encryptionKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `carnet ${purpose}: encryption`, 32));
    this.ivKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `carnet ${purpose}: iv`, 32));
  }

  seal(value: unknown): string {
    const plain = Buffer.from(JSON.stringify(value));
    const iv = createHmac('sha256', this.ivKey).update(plain).digest().subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  /** The sealed JSON, or undefined when `token` was not sealed by this sealer or was changed since. */
  open(token: string): unknown {
    const bytes = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url') : Buffer.alloc(0);
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(plain.toString('utf8'));
    } catch {
      return undefined;
    }
  }
}
