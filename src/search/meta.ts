/**
 * The meta in use (`$meta` at type and system level, resource-operations.html#meta):
 * the union of the profiles, tags and security labels of the live rows a
 * caller's access predicate lets through, in one statement. The rows are found
 * through their `_profile`, `_tag` and `_security` index rows (only resources
 * that carry some meta are read), the values taken from their stored meta
 * (exact, not the index's normalised copies), the predicate ANDed inside the
 * SQL: a row the caller may not read adds nothing. Also replaces the index rows
 * of a row whose meta changed in place (`$meta-add`, `$meta-delete`).
 * Never reports rows as disclosed; never reads a row the predicate excludes.
 */
import type { Coding, Meta } from 'fhir/r4';
import type { RowPredicate } from '../kernel/predicate';
import type { StoredResource } from '../kernel/stored';
import type { Executor, SqlBinding } from '../store/executor';
import type { SearchParameterRegistry } from './parameters';
import { SearchIndexer, writeIndexRows } from './indexer';
import { allResourceTypes } from '../kernel/definitions';

const META_ELEMENTS = ['profile', 'tag', 'security'] as const;
type MetaElement = (typeof META_ELEMENTS)[number];

/** The elements of one meta list of `r`, or none when it is not an array. */
const elements = (element: MetaElement) =>
  `SELECT '${element}' AS kind, e.value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.content->'meta'->'${element}') = 'array' THEN r.content->'meta'->'${element}' ELSE '[]'::jsonb END) AS e(value)`;

export async function metaInUse(db: Executor, resourceType: string | undefined, access: RowPredicate): Promise<Meta> {
  const predicate = access.render('r');
  // the index tables' value indexes lead with the type: a system-level question names every type
  const typed = resourceType === undefined ? ' AND resource_type = ANY(?::text[])' : ' AND resource_type = ?';
  const type: SqlBinding = resourceType ?? `{${[...allResourceTypes()].join(',')}}`;
  const types: SqlBinding[] = [type];
  const { rows } = await db.query<{ kind: MetaElement; value: unknown }>(
    `SELECT DISTINCT m.kind, m.value FROM resources r
     CROSS JOIN LATERAL (${META_ELEMENTS.map(elements).join(' UNION ALL ')}) m
     WHERE r.rid IN (SELECT rid FROM search_token WHERE param IN ('_tag', '_security')${typed}
                     UNION SELECT rid FROM search_uri WHERE param = '_profile'${typed})
       AND NOT r.deleted${typed.replace('resource_type', 'r.resource_type')} AND (${predicate.sql})`,
    [...types, ...types, ...types, ...predicate.bindings],
    'each',
  );
  return unionOf(rows);
}

/** One profile per URL, one tag or label per system+code (the first display in order), sorted. */
export function unionOf(values: readonly { kind: MetaElement; value: unknown }[]): Meta {
  const profiles = new Set<string>();
  const codings: Record<'tag' | 'security', Map<string, Coding>> = { tag: new Map(), security: new Map() };
  for (const { kind, value } of values) {
    if (kind === 'profile') {
      if (typeof value === 'string') profiles.add(value);
      continue;
    }
    const coding = codingOf(value);
    if (!coding) continue;
    const key = `${coding.system ?? ''}|${coding.code}`;
    const known = codings[kind].get(key);
    if (!known || (coding.display ?? '') < (known.display ?? '')) codings[kind].set(key, coding);
  }
  const meta: Meta = {};
  if (profiles.size > 0) meta.profile = [...profiles].sort();
  for (const kind of ['tag', 'security'] as const) {
    const list = [...codings[kind].entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, coding]) => coding);
    if (list.length > 0) meta[kind] = list;
  }
  return meta;
}

/** A stored Coding as the union answers it: system, code, display. */
function codingOf(value: unknown): Coding | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { system, code, display } = value as Record<string, unknown>;
  if (typeof code !== 'string') return undefined;
  return { ...(typeof system === 'string' ? { system } : {}), code, ...(typeof display === 'string' ? { display } : {}) };
}

/** Replaces every index row of `row` (its content changed in place): one statement, as the indexer writes them. */
export async function reindexRow(db: Executor, registry: SearchParameterRegistry, row: StoredResource, baseUrl?: string): Promise<void> {
  await writeIndexRows(db, [new SearchIndexer(registry, { baseUrl }).rowsOf(row)], [row.rid]);
}

/** The union of several metas (stored rows' and the catalogue's), as `unionOf` makes it. */
export function unionOfMetas(metas: readonly (Meta | undefined)[]): Meta {
  const values: { kind: MetaElement; value: unknown }[] = [];
  for (const meta of metas) for (const kind of META_ELEMENTS) for (const value of meta?.[kind] ?? []) values.push({ kind, value });
  return unionOf(values);
}
