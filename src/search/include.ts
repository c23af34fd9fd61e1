/**
 * `_include` and `_revinclude` (with `:iterate`): the resources the matches
 * refer to, or that refer to them, through reference parameters. Each fetch
 * first learns which types are on the other side, then reads the rows with
 * the access predicate of each of those types in the WHERE clause: an
 * included resource the caller may not see is never fetched. Non-iterate
 * directives apply to the matches; iterate ones again to what they brought,
 * until nothing new comes (at most MAX_ROUNDS) or MAX_INCLUDED is reached.
 */
import { fromRow, RESOURCE_COLUMNS, type StoredResource } from '../store/resources';
import type { Executor } from '../store/executor';
import type { RowPredicate } from '../kernel/predicate';
import type { IncludeDirective } from './query';
import { or, run, sql, type Sql } from './sql';

type Row = Parameters<typeof fromRow>[0];

export const MAX_INCLUDED = 1000;
const MAX_ROUNDS = 8;

export interface IncludeResult {
  included: StoredResource[];
  truncated: boolean;
}

const COLUMNS = RESOURCE_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ');

function ridArray(rows: StoredResource[]): string {
  return `{${rows.map((row) => row.rid).join(',')}}`;
}

function visible(types: string[], access: (type: string) => RowPredicate): Sql {
  return or(
    types.map((type) => {
      const predicate = access(type).render('r');
      return sql(`r.resource_type = ? AND (${predicate.sql})`, [type, ...predicate.bindings]);
    }),
  );
}

/** Reference rows of the directive, from the sources' side (`_include`). */
function forwardRefs(directive: IncludeDirective, sources: StoredResource[]): Sql {
  const parts = [sql('x.rid = ANY(?::bigint[]) AND x.url IS NULL', [ridArray(sources)])];
  if (directive.sourceType !== '*') parts.push(sql('x.resource_type = ?', [directive.sourceType]));
  if (directive.param !== '*') parts.push(sql('x.param = ?', [directive.param]));
  if (directive.targetType) parts.push(sql('x.target_type = ?', [directive.targetType]));
  return { sql: parts.map((p) => p.sql).join(' AND '), bindings: parts.flatMap((p) => p.bindings) };
}

/** Reference rows of the directive pointing at the targets (`_revinclude`). */
function reverseRefs(directive: IncludeDirective, targets: StoredResource[]): Sql {
  const pairs = JSON.stringify(targets.map((row) => ({ t: row.resourceType, i: row.id })));
  const parts = [sql('x.url IS NULL AND (x.target_type, x.target_id) IN (SELECT p.t, p.i FROM json_to_recordset(?::json) AS p(t text, i text))', [pairs])];
  if (directive.sourceType !== '*') parts.push(sql('x.resource_type = ?', [directive.sourceType]));
  if (directive.param !== '*') parts.push(sql('x.param = ?', [directive.param]));
  return { sql: parts.map((p) => p.sql).join(' AND '), bindings: parts.flatMap((p) => p.bindings) };
}

async function follow(db: Executor, directive: IncludeDirective, frontier: StoredResource[], access: (type: string) => RowPredicate, limit: number): Promise<StoredResource[]> {
  const sources = directive.reverse
    ? frontier.filter((row) => !directive.targetType || row.resourceType === directive.targetType)
    : frontier.filter((row) => directive.sourceType === '*' || row.resourceType === directive.sourceType);
  if (sources.length === 0) return [];
  const refs = directive.reverse ? reverseRefs(directive, sources) : forwardRefs(directive, sources);
  const otherSide = directive.reverse ? 'x.resource_type' : 'x.target_type';
  const found = await run<{ rows: { type: string }[] }>(db, sql(`SELECT DISTINCT ${otherSide} AS type FROM search_reference x WHERE ${refs.sql}`, refs.bindings));
  const types = found.rows.map((row) => row.type).filter((type): type is string => typeof type === 'string');
  if (types.length === 0) return [];
  const allowed = visible(types, access);
  const join = directive.reverse ? 'r.rid IN (SELECT x.rid FROM search_reference x WHERE ' : '(r.resource_type, r.id) IN (SELECT x.target_type, x.target_id FROM search_reference x WHERE ';
  const result = await run<{ rows: Row[] }>(
    db,
    sql(`SELECT ${COLUMNS} FROM resources r WHERE NOT r.deleted AND ${join}${refs.sql}) AND (${allowed.sql}) ORDER BY r.rid LIMIT ?`, [...refs.bindings, ...allowed.bindings, limit]),
  );
  return result.rows.map(fromRow);
}

export async function resolveIncludes(
  db: Executor,
  directives: IncludeDirective[],
  matches: StoredResource[],
  access: (type: string) => RowPredicate,
): Promise<IncludeResult> {
  const seen = new Set(matches.map((row) => row.rid));
  const included: StoredResource[] = [];
  let frontier = matches;
  let truncated = false;
  for (let round = 0; round < MAX_ROUNDS && frontier.length > 0 && directives.length > 0; round++) {
    const active = round === 0 ? directives : directives.filter((d) => d.iterate);
    if (active.length === 0) break;
    const next: StoredResource[] = [];
    for (const directive of active) {
      const room = MAX_INCLUDED - included.length;
      if (room <= 0) {
        truncated = true;
        break;
      }
      for (const row of await follow(db, directive, frontier, access, room + 1)) {
        if (seen.has(row.rid)) continue;
        if (included.length >= MAX_INCLUDED) {
          truncated = true;
          break;
        }
        seen.add(row.rid);
        included.push(row);
        next.push(row);
      }
    }
    frontier = next;
  }
  return { included, truncated };
}
