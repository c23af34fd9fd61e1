/**
 * Keyset paging: a page ends with a cursor holding the last row's sort key
 * values (as text) and its `rid`; the next page asks for rows strictly after
 * that position in the sort order, the previous page for rows strictly before
 * the first row, read backwards. Rows inserted or deleted between pages never
 * make a page skip or repeat a row that stayed in place (no OFFSET).
 * Cursor format: `_cursor=` the JSON {"v":1,"d":"n"|"p","s":<_sort>,"k":[…],
 * "r":<rid>} sealed (kernel/sealed.ts: AES-256-GCM, the same position always
 * gives the same link) with keys from one secret, the same in every server
 * process (store/secrets.ts).
 * Never shows a row number or sort value in clear; a cursor that does not
 * decrypt (tampered, forged, another server's), does not decode, or was made
 * for another `_sort`, is a 400.
 */
import { randomBytes } from 'node:crypto';
import { badRequest } from '../kernel/errors';
import { Sealer } from '../kernel/sealed';
import type { SortKey } from './sort';
import { or, and, sql, type Sql } from './sql';

export interface Cursor {
  direction: 'next' | 'previous';
  sort: string;
  keys: string[];
  rid: number;
}

export class CursorCodec {
  private readonly sealer: Sealer;

  /** `secret`: at least 32 random bytes shared by every process serving the same database. */
  constructor(secret: Buffer) {
    this.sealer = new Sealer(secret, 'search cursor');
  }

  encode(cursor: Cursor): string {
    return this.sealer.seal({ v: 1, d: cursor.direction === 'next' ? 'n' : 'p', s: cursor.sort, k: cursor.keys, r: cursor.rid });
  }

  decode(value: string, sort: string, keyCount: number): Cursor {
    const c = (this.sealer.open(value) ?? null) as { v?: unknown; d?: unknown; s?: unknown; k?: unknown; r?: unknown } | null;
    const valid =
      c !== null && typeof c === 'object' && c.v === 1 && (c.d === 'n' || c.d === 'p') && typeof c.s === 'string' &&
      Array.isArray(c.k) && c.k.every((k) => typeof k === 'string') && Number.isSafeInteger(c.r);
    if (!valid) throw badRequest('Invalid _cursor', '_cursor');
    if (c.s !== sort || (c.k as string[]).length !== keyCount) throw badRequest('_cursor was made for another _sort', '_cursor');
    return { direction: c.d === 'n' ? 'next' : 'previous', sort, keys: c.k as string[], rid: c.r as number };
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
