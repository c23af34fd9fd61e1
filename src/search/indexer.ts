/**
 * The search indexer: keeps the index tables in step with `resources`, inside
 * the write's transaction (ResourceIndexer). One statement per write: the old
 * rows of the resource are deleted and the new ones inserted, each table fed
 * from one JSON array (json_to_recordset), so a write costs one round trip
 * whatever the number of values. `writeIndexRows` does the same for a batch of
 * resources (bulk loads). Never indexes a deleted resource; never reads rows.
 *
 * In a transaction with a unit of work (store/executor.ts: a transaction
 * Bundle) the rows of every write are held and written together, in one
 * statement, ahead of the transaction's next statement: it reads its own
 * writes as before, with one statement for many writes instead of one each.
 */
import type { StoredResource, ResourceIndexer } from '../store/resources';
import type { NewRowCte } from '../kernel/stored';
import type { Executor } from '../store/executor';
import type { SearchParameterRegistry } from './parameters';
import { extractRows } from './extract';
import { INDEX_TABLES, type IndexRows, type IndexTable } from './tables';
import { MAX_HELD, type HeldPart, type HeldStatement, type SqlBinding } from '../store/executor';

export interface IndexerOptions {
  /** FHIR base of this server: absolute references on it are indexed as local ones. */
  baseUrl?: string;
}

/** Index rows of one resource row, ready to write. */
export interface RowsOf {
  rid: number;
  resourceType: string;
  patientId: string | null;
  rows: IndexRows;
}


/** Index writes held back in a transaction: rows to insert, rids whose old rows go. */
class HeldIndexRows implements HeldPart {
  batch: RowsOf[] = [];
  deleteRids: number[] = [];
  rids = new Set<number>();

  take(): HeldStatement | undefined {
    if (this.rids.size === 0) return undefined;
    const statement = indexStatement(this.batch, this.deleteRids);
    this.batch = [];
    this.deleteRids = [];
    this.rids = new Set();
    return statement;
  }
}

export class SearchIndexer implements ResourceIndexer {
  constructor(private readonly registry: SearchParameterRegistry, private readonly options: IndexerOptions = {}) {}

  /** The rows a stored resource gets (none once deleted). */
  rowsOf(row: StoredResource): RowsOf {
    const rows = row.content && !row.deleted ? extractRows(this.registry, row.content, this.options.baseUrl) : undefined;
    return { rid: row.rid, resourceType: row.resourceType, patientId: row.patientId, rows: rows ?? emptyIndexRows };
  }

  newRowCtes(row: StoredResource): NewRowCte[] {
    return newRowIndexCtes(row.resourceType, row.patientId, this.rowsOf(row).rows);
  }

  async index(sql: Executor, row: StoredResource): Promise<void> {
    const fresh = row.versionId === 1 && !row.deleted; // a new rid has no rows yet
    const unit = sql.unit;
    if (!unit) return writeIndexRows(sql, [this.rowsOf(row)], fresh ? [] : [row.rid]);
    const held = unit.part(HeldIndexRows, () => new HeldIndexRows());
    if (held.rids.has(row.rid)) await unit.flush(); // a second write of one resource: the first goes in first
    held.batch.push(this.rowsOf(row));
    if (!fresh) held.deleteRids.push(row.rid);
    held.rids.add(row.rid);
    if (held.rids.size >= MAX_HELD) await unit.flush();
  }
}

const emptyIndexRows: IndexRows = Object.freeze({ string: [], token: [], reference: [], date: [], number: [], quantity: [], uri: [] }) as IndexRows;

/**
 * Replaces the index rows of `deleteRids` and inserts `batch`, in one
 * statement. Used by the indexer (one resource) and bulk loaders (many).
 */
export async function writeIndexRows(db: Executor, batch: RowsOf[], deleteRids: number[]): Promise<void> {
  const built = indexSql(batch, deleteRids);
  if (built) await db.query(built.sql, built.bindings as SqlBinding[]);
}

/** The statement of writeIndexRows (knex `?` bindings), or undefined when there is nothing to write. */
function indexSql(batch: RowsOf[], deleteRids: number[]): { sql: string; bindings: unknown[] } | undefined {
  const ctes: string[] = [];
  const bindings: unknown[] = [];
  if (deleteRids.length > 0) {
    const rids = `{${deleteRids.map((rid) => Math.trunc(rid)).join(',')}}`;
    for (const table of Object.values(INDEX_TABLES)) {
      ctes.push(`d_${table.name} AS (DELETE FROM ${table.name} WHERE rid = ANY(?::bigint[]))`);
      bindings.push(rids);
    }
  }
  // One resource (the write path): its rid, type and patient are bound once, the rows carry only their values.
  const single = batch.length === 1 ? batch[0] : undefined;
  for (const key of Object.keys(INDEX_TABLES) as IndexTable[]) {
    const { name, columns } = INDEX_TABLES[key];
    const values = ['param', ...Object.keys(columns)];
    const valueTypes = ['text', ...Object.values(columns)];
    if (single) {
      const rows = single.rows[key] as object[];
      if (rows.length === 0) continue;
      const insert = oneResourceInsert(key, { sql: '?::bigint', bindings: [single.rid] }, single.resourceType, single.patientId, rows);
      ctes.push(`i_${name} AS (${insert.sql})`);
      bindings.push(...insert.bindings);
      continue;
    }
    const records = batch.flatMap((item) => (item.rows[key] as object[]).map((row) => ({ ...row, rid: item.rid, resource_type: item.resourceType, patient_id: item.patientId })));
    if (records.length === 0) continue;
    const names = ['rid', 'resource_type', 'patient_id', ...values];
    const types = ['bigint', 'text', 'text', ...valueTypes];
    ctes.push(
      `i_${name} AS (INSERT INTO ${name} (${names.join(', ')}) SELECT ${names.join(', ')} FROM json_to_recordset(?::json) AS x(${names.map((n, i) => `${n} ${types[i]}`).join(', ')}))`,
    );
    bindings.push(JSON.stringify(records));
  }
  if (ctes.length === 0) return undefined;
  return { sql: `WITH ${ctes.join(', ')} SELECT 1`, bindings };
}

/** The index rows of a new row as CTEs of the statement inserting it (its rid: `new_row.rid`). */
function newRowIndexCtes(resourceType: string, patientId: string | null, rows: IndexRows): NewRowCte[] {
  return (Object.keys(INDEX_TABLES) as IndexTable[])
    .filter((key) => (rows[key] as object[]).length > 0)
    .map((key) => oneResourceInsert(key, { sql: 'new_row.rid', from: 'new_row, ', bindings: [] }, resourceType, patientId, rows[key] as object[]));
}

/** The INSERT of one resource's rows into one index table: its rid (`rid.sql`, read FROM `rid.from` when given), type and patient bound once, the rows as JSON. */
function oneResourceInsert(key: IndexTable, rid: { sql: string; from?: string; bindings: SqlBinding[] }, resourceType: string, patientId: string | null, rows: object[]): NewRowCte {
  const { name, columns } = INDEX_TABLES[key];
  const names = ['param', ...Object.keys(columns)];
  const types = ['text', ...Object.values(columns)];
  return {
    sql:
      `INSERT INTO ${name} (rid, resource_type, patient_id, ${names.join(', ')}) SELECT ${rid.sql}, ?::text, ?::text, ${names.map((n) => `x.${n}`).join(', ')}` +
      ` FROM ${rid.from ?? ''}json_to_recordset(?::json) AS x(${names.map((n, i) => `${n} ${types[i]}`).join(', ')})`,
    bindings: [...rid.bindings, resourceType, patientId, JSON.stringify(rows)],
  };
}

/** The same as a statement held by the unit of work. */
function indexStatement(batch: RowsOf[], deleteRids: number[]): HeldStatement | undefined {
  const built = indexSql(batch, deleteRids);
  return built && { sql: built.sql, bindings: built.bindings };
}
