/**
 * Bulk loading for the benchmarks that generate data (search, access): one
 * statement inserts a batch of version-1 resources as client `bench`, then
 * the search indexer's own rows (SearchIndexer.rowsOf + writeIndexRows) are
 * written in the same transaction, so the loaded data is indexed exactly as
 * the server would index it. `more` adds other rows (the access tables) in
 * that transaction. Skips the resource_versions rows: benchmarks read current
 * versions only.
 */
import type { Resource } from 'fhir/r4';
import type { Knex } from 'knex';
import type { Db } from '../../src/store/db';
import type { StoredResource } from '../../src/store/resources';
import { writeIndexRows, type SearchIndexer } from '../../src/search/indexer';

export interface BulkItem {
  resource: Resource;
  patientId: string | null;
}

export const BENCH_SUBMITTER = 'client:bench';

export async function insertBatch(
  db: Db,
  indexer: SearchIndexer,
  batch: BulkItem[],
  now: string,
  more?: (trx: Knex.Transaction, stored: StoredResource[]) => Promise<void>,
): Promise<void> {
  const records = batch.map(({ resource, patientId }) => ({
    resource_type: resource.resourceType,
    id: resource.id,
    patient_id: patientId,
    content: { ...resource, meta: { versionId: '1', lastUpdated: now } },
  }));
  await db.transaction(async (trx) => {
    const inserted = await trx.raw<{ rows: { rid: string; resource_type: string; id: string }[] }>(
      `INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, patient_id, created_by, content)
       SELECT x.resource_type, x.id, 1, ?::timestamptz, false, x.patient_id, ?, x.content
       FROM json_to_recordset(?::json) AS x(resource_type text, id text, patient_id text, content jsonb) RETURNING rid, resource_type, id`,
      [now, BENCH_SUBMITTER, JSON.stringify(records)],
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
    if (more) await more(trx, stored);
  });
}
