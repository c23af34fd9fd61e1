/**
 * The resource store: current versions and history in PostgreSQL.
 * Every read takes a RowPredicate from the caller's access decision and applies
 * it inside the SQL; it never returns a row the predicate excludes.
 * Versioning (versionId, lastUpdated) is assigned here, under a row lock, so
 * concurrent writers never lose an update.
 */
import type { Meta, Resource } from 'fhir/r4';
import type { RowPredicate } from '../kernel/predicate';
import type { HistoryQuery, NewRowCte, ReadCompanions, ResourceIndexer, Store, StoredResource, StoredVersion, StoredWithCompanions, StoreObserver, WriteInput } from '../kernel/stored';
import type { ByIdStatement, ReadBatches } from './read-batches';
import { MAX_HELD, type Executor, type HeldPart, type HeldStatement, type SqlBinding } from './executor';

export type { HistoryQuery, ResourceIndexer, StoredResource, StoredVersion, StoreObserver, WriteInput } from '../kernel/stored';

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

/** Rids handed out per sequence call to rows written behind. */
const RID_BLOCK = 100;

const CREATE_COLUMNS = 'rid bigint, resource_type text, id text, last_updated timestamptz, patient_id text, created_by text, method text, content jsonb';

/** New rows held back in a transaction's unit of work (executor.ts): written in one statement, rids drawn beforehand. */
class HeldCreates implements HeldPart {
  rows: { rid: number; resource_type: string; id: string; last_updated: string; patient_id: string | null; created_by: string; method: string; content: Resource }[] = [];
  rids: number[] = [];

  take(): HeldStatement | undefined {
    if (this.rows.length === 0) return undefined;
    const rows = this.rows;
    this.rows = [];
    return {
      sql: `WITH x AS MATERIALIZED (SELECT * FROM json_to_recordset(?::json) AS x(${CREATE_COLUMNS})),
      r AS (INSERT INTO resources (rid, resource_type, id, version_id, last_updated, deleted, patient_id, created_by, content) OVERRIDING SYSTEM VALUE
            SELECT rid, resource_type, id, 1, last_updated, false, patient_id, created_by, content FROM x)
      INSERT INTO resource_versions (rid, resource_type, id, version_id, last_updated, deleted, patient_id, created_by, method, content)
      SELECT rid, resource_type, id, 1, last_updated, false, patient_id, created_by, method, content FROM x`,
      bindings: [JSON.stringify(rows)],
    };
  }
}

/** The second half of every write statement: the new version, copied from the written row. */
const APPEND_VERSION = `INSERT INTO resource_versions (rid, resource_type, id, version_id, last_updated, deleted, patient_id, created_by, method, content)
       SELECT rid, ?, ?, ?, ?, ?, ?, ?, ?, content FROM row RETURNING rid`;

function versionBindings(row: StoredResource, method: StoredVersion['method']): SqlBinding[] {
  return [row.resourceType, row.id, row.versionId, row.lastUpdated, row.deleted, row.patientId, row.createdBy, method];
}

type Rendered = ReturnType<RowPredicate['render']>;

/**
 * The `patient_visible` column answering the rendered companion `patient` for the patient
 * `patientSql` names (a column, or `?` bound to `bindings`); none without it.
 */
function patientVisible(patient: Rendered | undefined, patientSql: string, bindings: SqlBinding[] = []): { column: string; bindings: SqlBinding[] } {
  if (!patient) return { column: '', bindings: [] };
  return {
    column: `, EXISTS (SELECT 1 FROM resources rp WHERE rp.resource_type = 'Patient' AND rp.id = ${patientSql} AND (${patient.sql})) AS patient_visible`,
    bindings: [...bindings, ...patient.bindings],
  };
}

interface ReadStatement extends ByIdStatement {
  /** Whether it answers `patient_visible`. */
  companion: boolean;
}

/** Read statements by access predicate, companion and type: one object each while the policy keeps the rendered predicate. */
const readStatements = new WeakMap<Rendered, Map<Rendered | undefined, Map<string, ReadStatement>>>();

/**
 * The read by ids of `resourceType` under `predicate` (and the companion
 * `patient`, both as the policy rendered them): the same object for the same
 * three, so concurrent reads of one caller go out together (read-batches.ts).
 */
function readStatement(predicate: Rendered, patient: Rendered | undefined, resourceType: string): ReadStatement {
  let byPatient = readStatements.get(predicate);
  if (!byPatient) readStatements.set(predicate, (byPatient = new Map()));
  let byType = byPatient.get(patient);
  if (!byType) byPatient.set(patient, (byType = new Map()));
  let statement = byType.get(resourceType);
  if (!statement) {
    const companion = patientVisible(patient, 'r.patient_id');
    statement = {
      sql: `SELECT ${RESOURCE_COLUMNS}, (${predicate.sql}) AS visible${companion.column} FROM resources r WHERE r.resource_type = ? AND r.id = ANY(?::text[])`,
      bindings: [...predicate.bindings, ...companion.bindings, resourceType],
      companion: patient !== undefined,
    };
    byType.set(resourceType, statement);
  }
  return statement;
}

/** The first version of a new row, as it will be stored (rid still to come). */
function newRow(input: WriteInput): StoredResource {
  const now = new Date();
  const id = input.resource.id as string;
  const content = withMeta(input.resource, id, 1, now);
  return { rid: 0, resourceType: content.resourceType, id, versionId: 1, lastUpdated: now, deleted: false, patientId: input.patientId, createdBy: input.createdBy, content };
}

const unobserved: StoreObserver = { disclosed: () => {}, withheld: () => {}, wrote: () => {} };

/**
 * One store per session: every statement goes through the session's executor
 * (a pooled connection, or its transaction), every row it answers or writes
 * is reported to the session's observer.
 */
export class ResourceStore implements Store {
  constructor(
    private readonly sql: Executor,
    private readonly indexer: ResourceIndexer = noIndexer,
    private readonly observer: StoreObserver = unobserved,
    private readonly reads?: ReadBatches,
  ) {}

  /** The same store on another executor (a session's transaction). */
  on(sql: Executor, observer: StoreObserver = this.observer): ResourceStore {
    return new ResourceStore(sql, this.indexer, observer, this.reads);
  }

  /**
   * The current row (deleted ones included, so callers can answer 410), if the
   * predicate allows it. A row that exists but is hidden is reported as withheld
   * (the audit records the refused access) and answered as absent.
   */
  async read(resourceType: string, id: string, access: RowPredicate, companions: ReadCompanions = {}): Promise<StoredWithCompanions | undefined> {
    const statement = readStatement(access.render('r'), companions.patient?.render('rp'), resourceType);
    type ReadRow = Row & { visible: boolean; patient_visible?: boolean };
    // on the pool, with the reads of the same statement in this turn (read-batches.ts); in a transaction, on its connection
    const found = this.reads?.sql === this.sql ? await this.reads.byId<ReadRow>(statement, id) : (await this.sql.query<ReadRow>(statement.sql, [...statement.bindings, [id]])).rows[0];
    return this.answer(found, (row) => (statement.companion ? { ...fromRow(row), patientVisible: found?.patient_visible === true } : fromRow(row)));
  }

  async vread(resourceType: string, id: string, versionId: number, access: RowPredicate): Promise<StoredVersion | undefined> {
    const predicate = access.render('r');
    const { rows } = await this.sql.query<Row & { visible: boolean }>(
      `SELECT seq, method, ${RESOURCE_COLUMNS}, (${predicate.sql}) AS visible FROM resource_versions r WHERE r.resource_type = ? AND r.id = ? AND r.version_id = ?`,
      [...predicate.bindings, resourceType, id, versionId],
    );
    return this.answer(rows[0], fromVersionRow);
  }

  /** A row read by id: disclosed when the predicate let it through, else withheld and answered as absent. */
  private answer<T extends StoredResource>(row: (Row & { visible: boolean }) | undefined, read: (row: Row) => T): T | undefined {
    if (!row) return undefined;
    if (row.visible !== true) {
      this.observer.withheld({ resourceType: row.resource_type, id: row.id, patientId: row.patient_id });
      return undefined;
    }
    const stored = read(row);
    this.observer.disclosed([stored]);
    return stored;
  }

  /**
   * The row `Type/id` without reading it for anyone: reported as withheld, so a
   * request refused before the store was asked (its scopes) is audited about
   * the row's patient. Answers nothing to the caller.
   */
  async withhold(resourceType: string, id: string): Promise<void> {
    const { rows } = await this.sql.query<{ id: string; patient_id: string | null }>('SELECT id, patient_id FROM resources WHERE resource_type = ? AND id = ?', [resourceType, id]);
    if (rows[0]) this.observer.withheld({ resourceType, id: rows[0].id, patientId: rows[0].patient_id });
  }

  /** Patients among `ids` that exist (the audit keeps a named patient only if it exists). */
  async existingPatients(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.sql.query<{ id: string }>(`SELECT id FROM resources WHERE resource_type = 'Patient' AND id = ANY(?::text[])`, [[...ids]]);
    return new Set(rows.map((row) => row.id));
  }

  /** The patient whose compartment holds `Type/id` (null for shared data, undefined for no row); reports nothing. */
  async patientOf(resourceType: string, id: string): Promise<string | null | undefined> {
    const { rows } = await this.sql.query<{ patient_id: string | null }>('SELECT patient_id FROM resources WHERE resource_type = ? AND id = ?', [resourceType, id]);
    return rows[0] ? rows[0].patient_id : undefined;
  }

  /** Locks the current row for the rest of the transaction (no access check: callers decide on the row). */
  async lock(resourceType: string, id: string): Promise<StoredResource | undefined> {
    this.requireTransaction('lock');
    const { rows } = await this.sql.query<Row>(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE resource_type = ? AND id = ? FOR UPDATE`, [resourceType, id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** Serialises the holders of `key` until the transaction ends (conditional operations on the same criteria). */
  async lockKey(key: string): Promise<void> {
    this.requireTransaction('lockKey');
    await this.sql.query('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [key]);
  }

  /**
   * Inserts version 1 of a new resource. Returns undefined when the id is
   * already taken (a concurrent create-on-update won the race). A server id
   * in a transaction with a unit of work is written behind: the row gets its
   * rid at once and is written with the others ahead of the next statement.
   */
  async insert(input: WriteInput): Promise<StoredResource | undefined> {
    this.requireTransaction('insert');
    const stored = newRow(input);
    const { id } = stored;
    const content = stored.content as Resource;
    const held = input.generatedId ? this.sql.unit?.part(HeldCreates, () => new HeldCreates()) : undefined;
    if (held) {
      stored.rid = await this.nextRid(held);
      held.rows.push({ rid: stored.rid, resource_type: stored.resourceType, id, last_updated: stored.lastUpdated.toISOString(), patient_id: stored.patientId, created_by: stored.createdBy, method: input.method, content });
      await this.indexer.index(this.sql, stored);
      if (held.rows.length >= MAX_HELD) await this.sql.unit?.flush();
      this.observer.wrote(stored);
      return stored;
    }
    const row = await this.insertRow(stored, input.method, []);
    if (!row) return undefined;
    stored.rid = Number(row.rid);
    await this.indexer.index(this.sql, stored);
    this.observer.wrote(stored);
    return stored;
  }

  /**
   * A new row under an id nobody chose (a create), outside a unit of work:
   * when every indexer can write its rows as part of the insert
   * (ResourceIndexer.newRowCtes), the row, its first version, its index and
   * access rows are ONE statement — atomic on its own, so no transaction is
   * opened for it. Otherwise the insert and `index` run in a transaction (the
   * session's, or one of their own). Undefined: the id is taken. The one
   * statement also answers the companions (as Store.read does).
   */
  async insertNew(input: WriteInput, companions: ReadCompanions = {}): Promise<StoredWithCompanions | undefined> {
    if (this.sql.unit) return this.insert({ ...input, generatedId: true });
    const stored: StoredWithCompanions = newRow(input);
    const ctes = this.indexer.newRowCtes?.(stored);
    if (!ctes) return this.sql.inTransaction ? this.insert(input) : this.sql.transaction((trx) => this.on(trx).insert(input));
    // the companion reads the statement's snapshot: the row's patient as it was before this insert, which the insert does not change
    const row = await this.insertRow(stored, input.method, ctes, stored.patientId !== null ? companions : {});
    if (!row) return undefined;
    stored.rid = Number(row.rid);
    if (row.patient_visible !== undefined) stored.patientVisible = row.patient_visible === true;
    this.observer.wrote(stored);
    return stored;
  }

  /** One statement: the new row, its first version, then `ctes` (reading `new_row`); answers its rid (none: the id is taken) and the companions. */
  private async insertRow(stored: StoredResource, method: StoredVersion['method'], ctes: readonly NewRowCte[], companions: ReadCompanions = {}): Promise<{ rid: string; patient_visible?: boolean } | undefined> {
    const patient = patientVisible(companions.patient?.render('rp'), '?', [stored.patientId]);
    const { rows } = await this.sql.query<{ rid: string; patient_visible?: boolean }>(
      `WITH new_row AS (
         INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, patient_id, created_by, content)
         VALUES (?, ?, 1, ?, false, ?, ?, ?::jsonb) ON CONFLICT (resource_type, id) DO NOTHING RETURNING rid, content),
       new_version AS (
         INSERT INTO resource_versions (rid, resource_type, id, version_id, last_updated, deleted, patient_id, created_by, method, content)
         SELECT rid, ?, ?, ?, ?, ?, ?, ?, ?, content FROM new_row)${ctes.map((cte, i) => `,
       new_w${i} AS (${cte.sql})`).join('')}
       SELECT rid${patient.column} FROM new_row`,
      [
        stored.resourceType, stored.id, stored.lastUpdated, stored.patientId, stored.createdBy, JSON.stringify(stored.content), ...versionBindings(stored, method),
        ...ctes.flatMap((cte) => cte.bindings),
        ...patient.bindings,
      ],
    );
    return rows[0];
  }

  /** A rid for a row written behind, from a block drawn from the column's own sequence. */
  private async nextRid(held: HeldCreates): Promise<number> {
    if (held.rids.length === 0) {
      // a sequence draw reads nothing held: it goes ahead, and the unit goes on holding
      const draw = `SELECT nextval(pg_get_serial_sequence('resources', 'rid')) AS rid FROM generate_series(1, ${RID_BLOCK})`;
      const { rows } = await (this.sql.unit ? this.sql.unit.ahead<{ rid: string }>(draw) : this.sql.query<{ rid: string }>(draw));
      held.rids = rows.map((row) => Number(row.rid));
    }
    return held.rids.shift() as number;
  }

  /** Writes the next version over a row locked by `lock` (a delete when `resource` is null). */
  async writeNext(current: StoredResource, input: Omit<WriteInput, 'resource'> & { resource: Resource | null }): Promise<StoredResource> {
    this.requireTransaction('writeNext');
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
    await this.sql.query(
      `WITH row AS (
         UPDATE resources SET version_id = ?, last_updated = ?, deleted = ?, patient_id = ?, content = ?::jsonb
         WHERE rid = ? RETURNING rid, content)
       ${APPEND_VERSION}`,
      [versionId, now, stored.deleted, stored.patientId, content === null ? null : JSON.stringify(content), current.rid, ...versionBindings(stored, input.method)],
    );
    await this.indexer.index(this.sql, stored);
    this.observer.wrote(content === null ? { ...stored, content: current.content } : stored);
    return stored;
  }

  /**
   * Replaces the meta of one live version of a row locked by `lock`, in its
   * `resource_versions` row and, for the current version, in `resources`: no
   * new version (`$meta-add`, `$meta-delete`). Reported as written.
   */
  async replaceMeta(current: StoredResource, versionId: number, meta: Meta): Promise<StoredResource | undefined> {
    this.requireTransaction('replaceMeta');
    const { rows } = await this.sql.query<Row>(
      `WITH v AS (
         UPDATE resource_versions SET content = jsonb_set(content, '{meta}', ?::jsonb)
         WHERE rid = ? AND version_id = ? AND NOT deleted AND content IS NOT NULL RETURNING ${RESOURCE_COLUMNS}),
       r AS (UPDATE resources SET content = v.content FROM v WHERE resources.rid = v.rid AND resources.version_id = v.version_id RETURNING resources.rid)
       SELECT * FROM v`, // r runs whether read or not (a data-modifying WITH always does)
      [JSON.stringify(meta), current.rid, versionId],
    );
    if (!rows[0]) return undefined;
    const stored = fromRow(rows[0]);
    this.observer.wrote(stored);
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
    const { rows } = await this.sql.query<Row>(
      `SELECT r.seq, r.method, ${RESOURCE_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')} FROM resource_versions r WHERE ${where.join(' AND ')} ORDER BY r.seq DESC LIMIT ?`,
      bindings,
      'each',
    );
    const versions = rows.map(fromVersionRow);
    this.observer.disclosed(versions);
    return versions;
  }

  private requireTransaction(what: string): void {
    if (!this.sql.inTransaction) throw new Error(`ResourceStore.${what} needs a transaction (session.transaction)`);
  }
}
