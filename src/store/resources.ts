/**
 * The resource store: current versions and history in PostgreSQL.
 * Every read takes a RowPredicate from the caller's access decision and applies
 * it inside the SQL; it never returns a row the predicate excludes.
 * Versioning (versionId, lastUpdated) is assigned here, under a row lock, so
 * concurrent writers never lose an update.
 */
import type { Resource } from 'fhir/r4';
import type { Knex } from 'knex';
import type { Db } from './db';
import type { RowPredicate, SqlBinding } from './predicate';
import { query } from './prepared';

export interface StoredResource {
  rid: number;
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  deleted: boolean;
  patientId: string | null;
  createdBy: string;
  content: Resource | null;
}

export interface StoredVersion extends StoredResource {
  seq: number;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
}

/** Keeps search indexes in step with writes, inside the write's transaction. */
export interface ResourceIndexer {
  index(trx: Knex.Transaction, row: StoredResource): Promise<void>;
  /**
   * Runs `work`, a series of writes in `trx`, letting the indexer gather its
   * writes (reads in `trx` still see them); absent: each write indexed at once.
   */
  batch?<T>(trx: Knex.Transaction, work: () => Promise<T>): Promise<T>;
}

export const noIndexer: ResourceIndexer = { index: async () => {} };

interface Row {
  rid: string;
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: Date;
  deleted: boolean;
  patient_id: string | null;
  created_by: string;
  content: Resource | null;
  seq?: string;
  method?: StoredVersion['method'];
}

export const RESOURCE_COLUMNS = 'rid, resource_type, id, version_id, last_updated, deleted, patient_id, created_by, content';

export function fromRow(row: Row): StoredResource {
  return {
    rid: Number(row.rid),
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: row.last_updated,
    deleted: row.deleted,
    patientId: row.patient_id,
    createdBy: row.created_by,
    content: row.content,
  };
}

function fromVersionRow(row: Row): StoredVersion {
  return { ...fromRow(row), seq: Number(row.seq), method: row.method ?? 'PUT' };
}

/** Stamps id, versionId and lastUpdated into the resource body. */
export function withMeta(resource: Resource, id: string, versionId: number, lastUpdated: Date): Resource {
  return { ...resource, id, meta: { ...resource.meta, versionId: String(versionId), lastUpdated: lastUpdated.toISOString() } };
}

export interface WriteInput {
  resource: Resource; // id already set
  patientId: string | null;
  createdBy: string;
  method: StoredVersion['method'];
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  since?: Date;
  at?: Date;
  beforeSeq?: number; // keyset cursor: only versions older than this
  count: number;
}

/** The second half of every write statement: the new version, copied from the written row. */
const APPEND_VERSION = `INSERT INTO resource_versions (rid, resource_type, id, version_id, last_updated, deleted, patient_id, created_by, method, content)
       SELECT rid, ?, ?, ?, ?, ?, ?, ?, ?, content FROM row RETURNING rid`;

function versionBindings(row: StoredResource, method: StoredVersion['method']): SqlBinding[] {
  return [row.resourceType, row.id, row.versionId, row.lastUpdated, row.deleted, row.patientId, row.createdBy, method];
}

export class ResourceStore {
  constructor(readonly db: Db, private readonly indexer: ResourceIndexer = noIndexer) {}

  /** Runs `work` in a transaction (a savepoint when this store is already bound to one). */
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** Runs a series of writes in `trx` with their indexing gathered where the indexer can (a transaction Bundle). */
  batchIndexing<T>(trx: Knex.Transaction, work: () => Promise<T>): Promise<T> {
    return this.indexer.batch ? this.indexer.batch(trx, work) : work();
  }

  /** The same store inside an open transaction: every read and write goes through `trx`. */
  bind(trx: Knex.Transaction): ResourceStore {
    return new ResourceStore(trx, this.indexer);
  }

  /** The current row (deleted ones included, so callers can answer 410), if the predicate allows it. */
  async read(resourceType: string, id: string, access: RowPredicate, trx?: Knex.Transaction): Promise<StoredResource | undefined> {
    const predicate = access.render('r');
    const rows = await this.prepared<Row>(
      `SELECT ${RESOURCE_COLUMNS} FROM resources r WHERE r.resource_type = ? AND r.id = ? AND (${predicate.sql})`,
      [resourceType, id, ...predicate.bindings],
      trx,
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** The hot read path as a named prepared statement (prepared.ts); in a transaction, through it. */
  private async prepared<T>(sql: string, bindings: SqlBinding[], trx?: Knex.Transaction): Promise<T[]> {
    return (await query<T>(trx ?? this.db, sql, bindings)).rows;
  }

  async vread(resourceType: string, id: string, versionId: number, access: RowPredicate): Promise<StoredVersion | undefined> {
    const predicate = access.render('r');
    const rows = await this.prepared<Row>(
      `SELECT seq, method, ${RESOURCE_COLUMNS} FROM resource_versions r WHERE r.resource_type = ? AND r.id = ? AND r.version_id = ? AND (${predicate.sql})`,
      [resourceType, id, versionId, ...predicate.bindings],
    );
    return rows[0] ? fromVersionRow(rows[0]) : undefined;
  }

  /** Locks the current row for the rest of the transaction (no access check: callers decide on the row). */
  async lock(trx: Knex.Transaction, resourceType: string, id: string): Promise<StoredResource | undefined> {
    const result = await query<Row>(trx, `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE resource_type = ? AND id = ? FOR UPDATE`, [resourceType, id]);
    return result.rows[0] ? fromRow(result.rows[0]) : undefined;
  }

  /**
   * Inserts version 1 of a new resource. Returns undefined when the id is
   * already taken (a concurrent create-on-update won the race).
   */
  async insert(trx: Knex.Transaction, input: WriteInput): Promise<StoredResource | undefined> {
    const now = new Date();
    const id = input.resource.id as string;
    const content = withMeta(input.resource, id, 1, now);
    const stored: StoredResource = {
      rid: 0,
      resourceType: content.resourceType,
      id,
      versionId: 1,
      lastUpdated: now,
      deleted: false,
      patientId: input.patientId,
      createdBy: input.createdBy,
      content,
    };
    const result = await query<{ rid: string }>(
      trx,
      `WITH row AS (
         INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, patient_id, created_by, content)
         VALUES (?, ?, 1, ?, false, ?, ?, ?::jsonb) ON CONFLICT (resource_type, id) DO NOTHING RETURNING rid, content)
       ${APPEND_VERSION}`,
      [stored.resourceType, id, now, stored.patientId, stored.createdBy, JSON.stringify(content), ...versionBindings(stored, input.method)],
    );
    if (!result.rows[0]) return undefined;
    stored.rid = Number(result.rows[0].rid);
    await this.indexer.index(trx, stored);
    return stored;
  }

  /** Writes the next version over a row locked by `lock` (a delete when `resource` is null). */
  async writeNext(trx: Knex.Transaction, current: StoredResource, input: Omit<WriteInput, 'resource'> & { resource: Resource | null }): Promise<StoredResource> {
    // The row lock orders writers; lastUpdated never goes backwards within one resource's history.
    const now = new Date(Math.max(Date.now(), current.lastUpdated.getTime() + 1));
    const versionId = current.versionId + 1;
    const content = input.resource ? withMeta(input.resource, current.id, versionId, now) : null;
    const stored: StoredResource = {
      ...current,
      versionId,
      lastUpdated: now,
      deleted: content === null,
      patientId: content === null ? current.patientId : input.patientId,
      content,
    };
    await query(
      trx,
      `WITH row AS (
         UPDATE resources SET version_id = ?, last_updated = ?, deleted = ?, patient_id = ?, content = ?::jsonb
         WHERE rid = ? RETURNING rid, content)
       ${APPEND_VERSION}`,
      [versionId, now, stored.deleted, stored.patientId, content === null ? null : JSON.stringify(content), current.rid, ...versionBindings(stored, input.method)],
    );
    await this.indexer.index(trx, stored);
    return stored;
  }

  /** Versions newest first, keyset-paged by `seq`; the predicate applies to each version row. */
  async history(query: HistoryQuery, access: RowPredicate): Promise<StoredVersion[]> {
    const predicate = access.render('r');
    const where: string[] = [`(${predicate.sql})`];
    const bindings: SqlBinding[] = [...predicate.bindings];
    if (query.resourceType) {
      where.push('r.resource_type = ?');
      bindings.push(query.resourceType);
    }
    if (query.id) {
      where.push('r.id = ?');
      bindings.push(query.id);
    }
    if (query.since) {
      where.push('r.last_updated >= ?');
      bindings.push(query.since);
    }
    if (query.at) {
      // versions current at `at`: the newest version of each resource at or before it
      where.push(`r.last_updated <= ? AND NOT EXISTS (SELECT 1 FROM resource_versions n WHERE n.rid = r.rid AND n.version_id > r.version_id AND n.last_updated <= ?)`);
      bindings.push(query.at, query.at);
    }
    if (query.beforeSeq !== undefined) {
      where.push('r.seq < ?');
      bindings.push(query.beforeSeq);
    }
    bindings.push(query.count);
    const result = await this.db.raw<{ rows: Row[] }>(
      `SELECT r.seq, r.method, ${RESOURCE_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')} FROM resource_versions r WHERE ${where.join(' AND ')} ORDER BY r.seq DESC LIMIT ?`,
      bindings,
    );
    return result.rows.map(fromVersionRow);
  }
}
