/**
 * Keyset paging: a page ends with a cursor holding the last row's sort key
 * values (as text) and its `rid`; the next page asks for rows strictly after
 * that position in the sort order, the previous page for rows strictly before
 * the first row, read backwards. Rows inserted or deleted between pages never
 * make a page skip or repeat a row that stayed in place (no OFFSET).
 * Cursor format: `_cursor=` base64url of `iv(12) | tag(16) | AES-256-GCM(JSON
 * {"v":1,"d":"n"|"p","s":<_sort>,"k":[…],"r":<rid>})`, the IV an HMAC of the
 * JSON (the same position always gives the same link). Keys come from one
 * secret (`CursorCodec`), the same in every server process (store/secrets.ts).
 * Never shows a row number or sort value in clear; a cursor that does not
 * decrypt (tampered, forged, another server's), does not decode, or was made
 * for another `_sort`, is a 400.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { badRequest } from '../kernel/errors';
import type { SortKey } from './sort';
import { or, and, sql, type Sql } from './sql';

export interface Cursor {
  direction: 'next' | 'previous';
  sort: string;
  keys: string[];
  rid: number;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class CursorCodec {
  private readonly encryptionKey: Buffer;
  private readonly ivKey: Buffer;

  /** `secret`: at least 32 random bytes shared by every process serving the same database. */
  constructor(secret: Buffer) {
    if (secret.length < 32) throw new Error('the cursor secret must hold at least 32 bytes');
    this.encryptionKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'carnet search cursor: encryption', 32));
    this.ivKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'carnet search cursor: iv', 32));
  }

  encode(cursor: Cursor): string {
    const plain = Buffer.from(JSON.stringify({ v: 1, d: cursor.direction === 'next' ? 'n' : 'p', s: cursor.sort, k: cursor.keys, r: cursor.rid }));
    const iv = createHmac('sha256', this.ivKey).update(plain).digest().subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  decode(value: string, sort: string, keyCount: number): Cursor {
    const c = this.open(value) as { v?: unknown; d?: unknown; s?: unknown; k?: unknown; r?: unknown } | null;
    const valid =
      c !== null && typeof c === 'object' && c.v === 1 && (c.d === 'n' || c.d === 'p') && typeof c.s === 'string' &&
      Array.isArray(c.k) && c.k.every((k) => typeof k === 'string') && Number.isSafeInteger(c.r);
    if (!valid) throw badRequest('Invalid _cursor', '_cursor');
    if (c.s !== sort || (c.k as string[]).length !== keyCount) throw badRequest('_cursor was made for another _sort', '_cursor');
    return { direction: c.d === 'n' ? 'next' : 'previous', sort, keys: c.k as string[], rid: c.r as number };
  }

  /** The cursor's JSON, if it was sealed with this secret and not changed since. */
  private open(value: string): unknown {
    const bytes = /^[A-Za-z0-9_-]+$/.test(value) ? Buffer.from(value, 'base64url') : Buffer.alloc(0);
    if (bytes.length <= IV_BYTES + TAG_BYTES) throw badRequest('Invalid _cursor', '_cursor');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(plain.toString('utf8'));
    } catch {
      throw badRequest('Invalid _cursor', '_cursor');
    }
  }
}

/** For engines built without the server's secret (scripts, unit tests): links valid in this process only. */
export const processCursors = new CursorCodec(randomBytes(32));

/** A key as compared in the outer query: column `k<i>` of the derived table. */
export interface KeyColumn {
  column: string;
  kind: SortKey['kind'];
  descending: boolean;
}

function cast(kind: SortKey['kind']): string {
  return kind === 'text' ? '?::text COLLATE "C"' : `?::${kind}`;
}

/** Rows after (next) or before (previous) the cursor position in the order of `columns` then rid. */
export function keysetCondition(columns: KeyColumn[], ridColumn: string, cursor: Cursor): Sql {
  const backwards = cursor.direction === 'previous';
  const all = [...columns.map((c, i) => ({ ...c, value: cursor.keys[i] as unknown })), { column: ridColumn, kind: 'numeric' as const, descending: false, value: cursor.rid as unknown }];
  const branches: Sql[] = all.map((key, i) => {
    const equal = all.slice(0, i).map((prev) => sql(`${prev.column} = ${prev.column === ridColumn ? '?' : cast(prev.kind)}`, [prev.value]));
    const after = key.descending !== backwards ? '<' : '>';
    const compare = sql(`${key.column} ${after} ${key.column === ridColumn ? '?' : cast(key.kind)}`, [key.value]);
    return and([...equal, compare]);
  });
  // The first key's bound alone (`k0 <= c`), redundant with the branches, lets an index on it start at the cursor.
  const first = all[0];
  const bound = sql(`${first.column} ${first.descending !== backwards ? '<=' : '>='} ${first.column === ridColumn ? '?' : cast(first.kind)}`, [first.value]);
  return and([bound, or(branches)]);
}

/** `ORDER BY` of the keys then rid, reversed for a previous page. */
export function orderBy(columns: KeyColumn[], ridColumn: string, backwards: boolean): string {
  const direction = (descending: boolean) => (descending !== backwards ? 'DESC' : 'ASC');
  return [...columns.map((c) => `${c.column} ${direction(c.descending)}`), `${ridColumn} ${direction(false)}`].join(', ');
}
