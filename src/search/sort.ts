/**
 * `_sort` (search.html#sort): keys in order, `-` for descending, `_id` and
 * `_lastUpdated` over `resources` columns, any other parameter over its index
 * table. A resource with several values sorts by its lowest (ascending) or
 * highest (descending); one without a value sorts last either way (a
 * sentinel that orders after every real value). Every key has a SQL type so
 * the cursor can carry it as text and compare it again (paging.ts).
 * The result always ends with `rid`, so the order is total.
 */
import { badRequest } from '../kernel/errors';
import type { SearchParameterRegistry } from './parameters';
import { isKnownParameter } from './known';
import { PREFIX_END } from './string';
import { sql, type Sql } from './sql';

export type SortKind = 'text' | 'timestamptz' | 'numeric';

export interface SortKey {
  name: string;
  descending: boolean;
  kind: SortKind;
  /** Over the `resources` alias given to sortKeys. */
  expression: Sql;
  /** Set when an index of the key's table is ordered by the key: large result sets can be read in that order (page.ts). */
  ordered?: OrderedIndex;
}

/** An index table whose btree on (resource_type, param, column) yields the key's order. */
export interface OrderedIndex {
  table: string;
  param: string;
  column: string; // its extreme per resource is the key (max when descending, min when ascending)
  sentinel: string; // the key of resources without a value
}

interface Extreme {
  table: string;
  asc: string; // aggregate for ascending order
  desc: string;
  kind: SortKind;
  /** Columns with a (resource_type, param, column) btree, for ascending and descending order. */
  ordered?: { asc: string; desc: string };
}

const BY_TYPE: Record<string, Extreme> = {
  string: { table: 'search_string', asc: 'min(s.value_normalized)', desc: 'max(s.value_normalized)', kind: 'text', ordered: { asc: 'value_normalized', desc: 'value_normalized' } },
  token: { table: 'search_token', asc: 'min(coalesce(s.code, s.text) COLLATE "C")', desc: 'max(coalesce(s.code, s.text) COLLATE "C")', kind: 'text' },
  reference: {
    table: 'search_reference',
    asc: `min(coalesce(s.url, s.target_type || '/' || s.target_id, s.ident_value) COLLATE "C")`,
    desc: `max(coalesce(s.url, s.target_type || '/' || s.target_id, s.ident_value) COLLATE "C")`,
    kind: 'text',
  },
  uri: { table: 'search_uri', asc: 'min(s.uri)', desc: 'max(s.uri)', kind: 'text', ordered: { asc: 'uri', desc: 'uri' } },
  date: { table: 'search_date', asc: 'min(s.lo)', desc: 'max(s.hi)', kind: 'timestamptz', ordered: { asc: 'lo', desc: 'hi' } },
  number: { table: 'search_number', asc: 'min(s.lo)', desc: 'max(s.hi)', kind: 'numeric' },
  quantity: { table: 'search_quantity', asc: 'min(s.lo)', desc: 'max(s.hi)', kind: 'numeric' },
};

/** Sorts after (ascending) or before (descending) every real value. */
const LAST: Record<SortKind, { asc: string; desc: string }> = {
  text: { asc: PREFIX_END, desc: '' },
  timestamptz: { asc: 'infinity', desc: '-infinity' },
  numeric: { asc: 'Infinity', desc: '-Infinity' },
};

function keyOf(registry: SearchParameterRegistry, types: string[], alias: string, name: string, descending: boolean): SortKey {
  if (name === '_id') return { name, descending, kind: 'text', expression: sql(`${alias}.id COLLATE "C"`) };
  if (name === '_lastUpdated') return { name, descending, kind: 'timestamptz', expression: sql(`${alias}.last_updated`) };
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw badRequest(`Cannot sort by '${name}': only search parameters of the type, without modifiers or chains`, '_sort');
  const defs = types.map((type) => (isKnownParameter(registry, type, name) ? registry.get(type, name) : undefined));
  const kinds = new Set(defs.map((def) => def?.type));
  const type = defs[0]?.type;
  if (defs.some((def) => def === undefined) || kinds.size !== 1 || type === undefined || !BY_TYPE[type]) {
    throw badRequest(`Cannot sort by '${name}'${types.length === 1 ? ` for ${types[0]}` : ''}`, '_sort');
  }
  const extreme = BY_TYPE[type];
  const sentinel = descending ? LAST[extreme.kind].desc : LAST[extreme.kind].asc;
  const aggregate = `(SELECT ${descending ? extreme.desc : extreme.asc} FROM ${extreme.table} s WHERE s.rid = ${alias}.rid AND s.param = ?)`;
  const expression =
    extreme.kind === 'text' ? sql(`(coalesce(${aggregate}, ?) COLLATE "C")`, [name, sentinel]) : sql(`coalesce(${aggregate}, ?::${extreme.kind})`, [name, sentinel]);
  const ordered = extreme.ordered ? { table: extreme.table, param: name, column: descending ? extreme.ordered.desc : extreme.ordered.asc, sentinel } : undefined;
  return { name, descending, kind: extreme.kind, expression, ordered };
}

/** The sort keys of `_sort` (comma-separated, possibly repeated); none: order by `rid` only. */
export function sortKeys(registry: SearchParameterRegistry, types: string[], raw: string | undefined, alias: string): SortKey[] {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => (part.startsWith('-') ? keyOf(registry, types, alias, part.slice(1), true) : keyOf(registry, types, alias, part, false)));
}
