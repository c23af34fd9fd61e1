/**
 * Bulk loading for the benchmarks that generate data (search, access): one
 * statement inserts a batch of version-1 resources as client `bench`, then
 * the search indexer's own rows (SearchIndexer.rowsOf + writeIndexRows) are
 * written in the same transaction, so the loaded data is indexed exactly as
 * the server would index it. `more` adds other rows (the access tables) in
 * that transaction. Skips the resource_versions rows: benchmarks read current
 * versions only.
 *
 * Statements go through production's executor: pass the pool (`carnet.sql`,
 * store/executor.ts) and `more` is given the batch's transaction executor.
 * The knex form (`carnet.db`) remains for loaders whose `more` still writes
 * with knex: the same statements, sent as knex raw ones in a knex
 * transaction that `more` is given.
 */
import type { Resource } from 'fhir/r4';
import type { Knex } from 'knex';
import type { Db } from '../../src/store/db';
import type { Executor, QueryResult, SqlBinding } from '../../src/store/executor';
import type { StoredResource } from '../../src/store/resources';
import { writeIndexRows, type SearchIndexer } from '../../src/search/indexer';

export interface BulkItem {
  resource: Resource;
  patientId: string | null;
}

export const BENCH_SUBMITTER = 'client:bench';

type More<T> = (trx: T, stored: StoredResource[]) => Promise<void>;

/** Loads a batch through `sql` (the pool, `carnet.sql`), in one transaction; `more` runs in it. */
export function insertBatch(sql: Executor, indexer: SearchIndexer, batch: BulkItem[], now: string, more?: More<Executor>): Promise<void>;
/** The knex form (`carnet.db`): `more` is given the knex transaction. */
export function insertBatch(db: Db, indexer: SearchIndexer, batch: BulkItem[], now: string, more?: More<Knex.Transaction>): Promise<void>;
export async function insertBatch(target: Executor | Db, indexer: SearchIndexer, batch: BulkItem[], now: string, more?: More<Executor> | More<Knex.Transaction>): Promise<void> {
  if ('inTransaction' in target) {
    await target.transaction(async (trx) => {
      const stored = await loadBatch(trx, indexer, batch, now);
      if (more) await (more as More<Executor>)(trx, stored);
    });
    return;
  }
  await target.transaction(async (trx) => {
    const stored = await loadBatch(knexStatements(trx), indexer, batch, now);
    if (more) await (more as More<Knex.Transaction>)(trx, stored);
  });
}

async function loadBatch(trx: Executor, indexer: SearchIndexer, batch: BulkItem[], now: string): Promise<StoredResource[]> {
  const records = batch.map(({ resource, patientId }) => ({
    resource_type: resource.resourceType,
    id: resource.id,
    patient_id: patientId,
    content: { ...resource, meta: { versionId: '1', lastUpdated: now } },
  }));
  const inserted = await trx.query<{ rid: string; resource_type: string; id: string }>(
    `INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, patient_id, created_by, content)
     SELECT x.resource_type, x.id, 1, ?::timestamptz, false, x.patient_id, ?, x.content
     FROM json_to_recordset(?::json) AS x(resource_type text, id text, patient_id text, content jsonb) RETURNING rid, resource_type, id`,
    [now, BENCH_SUBMITTER, JSON.stringify(records)],
    'each',
  );
  const ridOf = new Map(inserted.rows.map((row) => [`${row.resource_type}/${row.id}`, Number(row.rid)]));
  const stored: StoredResource[] = batch.map(({ resource, patientId }) => ({
    rid: ridOf.get(`${resource.resourceType}/${resource.id}`) as number,
    resourceType: resource.resourceType,
    id: resource.id as string,
    versionId: 1,
    lastUpdated: new Date(now),
    deleted: false,
    patientId,
    createdBy: BENCH_SUBMITTER,
    content: resource,
  }));
  await writeIndexRows(trx, stored.map((row) => indexer.rowsOf(row)), []);
  return stored;
}

/** A knex transaction's raw statements as an executor (the knex form only; same `?` bindings). */
function knexStatements(trx: Knex.Transaction): Executor {
  const executor: Executor = {
    inTransaction: true,
    query: async <T,>(sql: string, bindings: readonly SqlBinding[] = []): Promise<QueryResult<T>> => {
      const result = await trx.raw<{ rows: T[]; rowCount: number | null }>(sql, bindings as Knex.RawBinding[]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    transaction: (work) => work(executor),
  };
  return executor;
}
