/**
 * `Patient/X/$everything` as one statement: the resources of X's compartment
 * (by patient_id or by a compartment reference) and those they reference
 * that belong to X or to nobody, under the caller's access predicate, keyset
 * paged by rid. Never returns a row the predicate excludes.
 */
import type { Executor, SqlBinding } from '../store/executor';
import type { RowPredicate } from '../kernel/predicate';
import { fromRow, RESOURCE_COLUMNS } from '../store/resources';
import type { EverythingQuery, EverythingRow } from '../kernel/ports';
import { patientCompartment } from '../kernel/definitions';
import { run } from './sql';

const COLUMNS = RESOURCE_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ');

let compartmentParams: [string, string][] | undefined;

/** (resource type, search parameter) pairs that put a resource in a Patient's compartment. */
function compartmentPairs(): [string, string][] {
  compartmentParams ??= (patientCompartment().resource ?? []).flatMap((entry) => (entry.param ?? []).map((param): [string, string] => [entry.code, param]));
  return compartmentParams;
}

export async function everythingPage(db: Executor, query: EverythingQuery, access: RowPredicate): Promise<EverythingRow[]> {
  const pairs = compartmentPairs();
  const predicate = access.render('r');
  const bindings: SqlBinding[] = [query.patientId, ...pairs.flat(), query.patientId, query.patientId, ...predicate.bindings, `{${query.types.join(',')}}`];
  const where = [`NOT r.deleted`, `(${predicate.sql})`, `r.resource_type = ANY(?::text[])`];
  if (query.since) {
    where.push('r.last_updated >= ?');
    bindings.push(query.since);
  }
  if (query.after !== undefined) {
    where.push('r.rid > ?');
    bindings.push(query.after);
  }
  bindings.push(query.limit);
  const text = `
    WITH members AS (
      SELECT rid FROM resources WHERE patient_id = ?
      UNION
      SELECT sr.rid FROM (VALUES ${pairs.map(() => '(?, ?)').join(', ')}) AS p(resource_type, param)
        JOIN search_reference sr ON sr.resource_type = p.resource_type AND sr.param = p.param
       WHERE sr.target_type = 'Patient' AND sr.target_id = ? AND sr.url IS NULL
    ), referenced AS (
      SELECT t.rid FROM resources t
        JOIN (SELECT DISTINCT sr.target_type, sr.target_id FROM search_reference sr JOIN members m ON m.rid = sr.rid
               WHERE sr.url IS NULL AND sr.target_id IS NOT NULL) x
          ON t.resource_type = x.target_type AND t.id = x.target_id
       WHERE t.patient_id IS NULL OR t.patient_id = ?
    ), everything AS (
      SELECT rid, bool_or(member) AS member FROM (
        SELECT rid, true AS member FROM members UNION ALL SELECT rid, false AS member FROM referenced
      ) u GROUP BY rid
    )
    SELECT ${COLUMNS}, e.member FROM resources r JOIN everything e ON e.rid = r.rid
     WHERE ${where.join(' AND ')}
     ORDER BY r.rid LIMIT ?`;
  const result = await run<{ rows: (Parameters<typeof fromRow>[0] & { member: boolean })[] }>(db, { sql: text, bindings });
  return result.rows.map((row) => ({ row: fromRow(row), member: row.member }));
}

