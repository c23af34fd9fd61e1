/**
 * Keyset paging: a page ends with a cursor holding the last row's sort key
 * values (as text) and its `rid`; the next page asks for rows strictly after
 * that position in the sort order, the previous page for rows strictly before
 * the first row, read backwards. Rows inserted or deleted between pages never
 * make a page skip or repeat a row that stayed in place (no OFFSET).
 * Cursor format: `_cursor=` base64url of JSON `{"v":1,"d":"n"|"p","s":<_sort>,"k":[…],"r":<rid>}`.
 * A cursor that does not decode, or was made for another `_sort`, is a 400.
 */
import { badRequest } from '../kernel/errors';
import type { SortKey } from './sort';
import { or, and, sql, type Sql } from './sql';

export interface Cursor {
  direction: 'next' | 'previous';
  sort: string;
  keys: string[];
  rid: number;
}

export function encodeCursor(cursor: Cursor): string {
  const json = { v: 1, d: cursor.direction === 'next' ? 'n' : 'p', s: cursor.sort, k: cursor.keys, r: cursor.rid };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

export function decodeCursor(value: string, sort: string, keyCount: number): Cursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('Invalid _cursor', '_cursor');
  }
  const c = json as { v?: unknown; d?: unknown; s?: unknown; k?: unknown; r?: unknown };
  const valid =
    c !== null && typeof c === 'object' && c.v === 1 && (c.d === 'n' || c.d === 'p') && typeof c.s === 'string' &&
    Array.isArray(c.k) && c.k.every((k) => typeof k === 'string') && Number.isSafeInteger(c.r);
  if (!valid) throw badRequest('Invalid _cursor', '_cursor');
  if (c.s !== sort || (c.k as string[]).length !== keyCount) throw badRequest('_cursor was made for another _sort', '_cursor');
  return { direction: c.d === 'n' ? 'next' : 'previous', sort, keys: c.k as string[], rid: c.r as number };
}

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
