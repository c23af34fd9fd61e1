/**
 * Reads one page of matches in keyset order (paging.ts, sort.ts): first the
 * positions (rid and sort key texts) of the page, then its rows. Two ways to
 * find the positions:
 * - filter first (the default): every match is found through the filters'
 *   indexes, then sorted; right when the filters are selective (a patient);
 * - order first: when the planner expects many matches and the one sort key
 *   has an ordered index (date, string, uri), that index is read in key order
 *   in chunks, each entry tested against the filters and kept when it is the
 *   resource's extreme value, until the page is full; then the resources
 *   without a value, in rid order.
 * Every statement holds the same WHERE clause (filters and access predicate):
 * never reads a row the access predicate excludes.
 */
import { fromRow, RESOURCE_COLUMNS, type StoredResource } from '../store/resources';
import type { Executor } from '../store/executor';
import type { SortKey } from './sort';
import { keysetCondition, orderBy, type Cursor, type KeyColumn } from './paging';
import { run, sql, type Sql } from './sql';

type Row = Parameters<typeof fromRow>[0];

/** Above this many expected matches, a sort with an ordered index reads that index in order. */
export const ORDERED_SCAN_THRESHOLD = 2000;

export interface Page {
  rows: StoredResource[];
  keys: string[][]; // sort key texts per row
  more: boolean; // rows beyond the page in the direction read
  /** Every match, counted by the statement that found the page (asked with `withTotal`, and known when the page is not empty). */
  total?: number;
}

export interface PageRequest {
  where: Sql; // over `resources r`
  types: string[];
  keys: SortKey[];
  cursor?: Cursor;
  count: number;
  ordered?: OrderedScanOptions;
  /**
   * Count every match in the statement that finds the page (filter first
   * only), as a window aggregate: one pass of the filters and the access
   * predicate instead of two. For bounded result sets (a patient's): the
   * window holds every match until the page is sorted.
   */
  withTotal?: boolean;
}

/** Tuning of the order-first way (tests make the chunks tiny to walk every branch). */
export interface OrderedScanOptions {
  /** Expected matches from which the order-first way is used (default 2000). */
  threshold?: number;
  /** Index entries read per round (default 200). */
  chunk?: number;
  /** Rounds before handing over to one planned statement (default 5). */
  rounds?: number;
}

interface Position {
  rid: number;
  keys: string[];
  total?: number;
}

const COLUMNS = RESOURCE_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ');

/** The planner's estimate of the number of matches. */
export async function estimateMatches(db: Executor, where: Sql): Promise<number> {
  const plan = await run<{ rows: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] }>(db, sql(`EXPLAIN (FORMAT JSON) SELECT 1 FROM resources r WHERE ${where.sql}`, where.bindings));
  return Math.round(plan.rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
}

async function positions(db: Executor, statement: Sql, keyCount: number): Promise<Position[]> {
  const result = await run<{ rows: Record<string, unknown>[] }>(db, statement);
  return result.rows.map((row) => ({
    rid: Number(row.rid),
    keys: Array.from({ length: keyCount }, (_, i) => String(row[`t${i}`])),
    ...(row.total !== undefined ? { total: Number(row.total) } : {}),
  }));
}

/** Every match, sorted by its keys: filter first. */
async function filterFirst(db: Executor, request: PageRequest, limit: number): Promise<Position[]> {
  const { where, keys, cursor } = request;
  const columns: KeyColumn[] = keys.map((key, i) => ({ column: `m.k${i}`, kind: key.kind, descending: key.descending }));
  const select = [sql('r.rid'), ...keys.map((key, i) => ({ sql: `${key.expression.sql} AS k${i}`, bindings: key.expression.bindings }))];
  const keyset = cursor ? keysetCondition(columns, 'm.rid', cursor) : sql('TRUE');
  const texts = keys.map((_, i) => `, m.k${i}::text AS t${i}`).join('');
  if (request.withTotal) select.push(sql('count(*) OVER () AS total'));
  return positions(
    db,
    sql(
      `SELECT m.rid${texts}${request.withTotal ? ', m.total' : ''} FROM (SELECT ${select.map((s) => s.sql).join(', ')} FROM resources r WHERE ${where.sql}) m` +
        ` WHERE ${keyset.sql} ORDER BY ${orderBy(columns, 'm.rid', cursor?.direction === 'previous')} LIMIT ?`,
      [...select.flatMap((s) => s.bindings), ...where.bindings, ...keyset.bindings, limit],
    ),
    keys.length,
  );
}

const CHUNK = 200;
const ROUNDS = 5;

/**
 * Resources with a value, in key order, planner's choice: one statement
 * (exact, but PostgreSQL may sort every match when its estimates are off).
 */
function valuedStatement(request: PageRequest, key: SortKey, after: Cursor | undefined, backwards: boolean, limit: number): Sql {
  const index = key.ordered!;
  const col = `s.${index.column}`;
  const columns: KeyColumn[] = [{ column: col, kind: key.kind, descending: key.descending }];
  const keyset = after ? keysetCondition(columns, 's.rid', after) : sql('TRUE');
  return sql(
    `SELECT DISTINCT ON (${col}, s.rid) s.rid, ${col}::text AS t0 FROM ${index.table} s WHERE s.resource_type = ? AND s.param = ?` +
      ` AND NOT EXISTS (SELECT 1 FROM ${index.table} s2 WHERE s2.rid = s.rid AND s2.param = s.param AND s2.${index.column} ${key.descending ? '>' : '<'} ${col})` +
      ` AND EXISTS (SELECT 1 FROM resources r WHERE r.rid = s.rid AND ${request.where.sql}) AND ${keyset.sql}` +
      ` ORDER BY ${orderBy(columns, 's.rid', backwards)} LIMIT ?`,
    [request.types[0], index.param, ...request.where.bindings, ...keyset.bindings, limit],
  );
}

/**
 * Resources with a value, in key order, read from the ordered index in
 * chunks: each chunk is a plain index range (always read in order), then
 * tested against the filters and kept where the entry is the resource's
 * extreme value. After ROUNDS chunks without a full page the filters are
 * selective after all: the rest is one statement (valuedStatement).
 */
async function valuedSegment(db: Executor, request: PageRequest, key: SortKey, after: Cursor | undefined, backwards: boolean, limit: number): Promise<Position[]> {
  const index = key.ordered!;
  const col = `s.${index.column}`;
  const columns: KeyColumn[] = [{ column: col, kind: key.kind, descending: key.descending }];
  const found: Position[] = [];
  const chunkSize = request.ordered?.chunk ?? CHUNK;
  let position = after;
  for (let round = 0; round < (request.ordered?.rounds ?? ROUNDS); round++) {
    const keyset = position ? keysetCondition(columns, 's.rid', position) : sql('TRUE');
    const chunk = await positions(
      db,
      sql(`SELECT s.rid, ${col}::text AS t0 FROM ${index.table} s WHERE s.resource_type = ? AND s.param = ? AND ${keyset.sql} ORDER BY ${orderBy(columns, 's.rid', backwards)} LIMIT ?`, [
        request.types[0],
        index.param,
        ...keyset.bindings,
        chunkSize,
      ]),
      1,
    );
    if (chunk.length === 0) return found;
    const cast = key.kind === 'text' ? 'text COLLATE "C"' : key.kind;
    const kept = await run<{ rows: { rid: string; k: string }[] }>(
      db,
      sql(
        `SELECT c.rid, c.k FROM json_to_recordset(?::json) AS c(rid bigint, k text) WHERE EXISTS (SELECT 1 FROM resources r WHERE r.rid = c.rid AND ${request.where.sql})` +
          ` AND NOT EXISTS (SELECT 1 FROM ${index.table} s2 WHERE s2.rid = c.rid AND s2.param = ? AND s2.${index.column} ${key.descending ? '>' : '<'} c.k::${cast})`,
        [JSON.stringify(chunk.map((p) => ({ rid: p.rid, k: p.keys[0] }))), ...request.where.bindings, index.param],
      ),
    );
    const keep = new Set(kept.rows.map((row) => `${row.rid}|${row.k}`));
    for (const p of chunk) {
      const last = found[found.length - 1];
      if (keep.has(`${p.rid}|${p.keys[0]}`) && !(last && last.rid === p.rid && last.keys[0] === p.keys[0])) found.push(p);
      if (found.length >= limit) return found;
    }
    if (chunk.length < chunkSize) return found;
    const end = chunk[chunk.length - 1];
    position = { direction: backwards ? 'previous' : 'next', sort: '', keys: end.keys, rid: end.rid };
  }
  return [...found, ...(await positions(db, valuedStatement(request, key, position, backwards, limit - found.length), 1))];
}

/** Resources without a value (their key is the sentinel), in rid order. */
function missingSegment(request: PageRequest, key: SortKey, afterRid: number | undefined, backwards: boolean, limit: number): Sql {
  const index = key.ordered!;
  const bound = afterRid === undefined ? sql('TRUE') : sql(`r.rid ${backwards ? '<' : '>'} ?`, [afterRid]);
  return sql(
    `SELECT r.rid, ?::text AS t0 FROM resources r WHERE ${request.where.sql} AND NOT EXISTS (SELECT 1 FROM ${index.table} s WHERE s.rid = r.rid AND s.param = ?)` +
      ` AND ${bound.sql} ORDER BY r.rid ${backwards ? 'DESC' : 'ASC'} LIMIT ?`,
    [index.sentinel, ...request.where.bindings, index.param, ...bound.bindings, limit],
  );
}

/** Order first: valued resources then missing ones (forward), or the reverse (backward). */
async function orderFirst(db: Executor, request: PageRequest, limit: number): Promise<Position[]> {
  const key = request.keys[0];
  const cursor = request.cursor;
  const backwards = cursor?.direction === 'previous';
  const inMissing = cursor !== undefined && cursor.keys[0] === key.ordered!.sentinel;
  if (!backwards) {
    if (inMissing) return positions(db, missingSegment(request, key, cursor.rid, false, limit), 1);
    const valued = await valuedSegment(db, request, key, cursor, false, limit);
    if (valued.length >= limit) return valued;
    return [...valued, ...(await positions(db, missingSegment(request, key, undefined, false, limit - valued.length), 1))];
  }
  if (!inMissing) return valuedSegment(db, request, key, cursor, true, limit);
  const missing = await positions(db, missingSegment(request, key, cursor.rid, true, limit), 1);
  if (missing.length >= limit) return missing;
  return [...missing, ...(await valuedSegment(db, request, key, undefined, true, limit - missing.length))];
}

async function rowsOf(db: Executor, rids: number[]): Promise<StoredResource[]> {
  if (rids.length === 0) return [];
  const result = await run<{ rows: Row[] }>(db, sql(`SELECT ${COLUMNS} FROM resources r WHERE r.rid = ANY(?::bigint[])`, [`{${rids.join(',')}}`]));
  const byRid = new Map(result.rows.map((row) => [Number(row.rid), fromRow(row)]));
  return rids.map((rid) => byRid.get(rid)).filter((row): row is StoredResource => row !== undefined);
}

export async function readPage(db: Executor, request: PageRequest): Promise<Page> {
  const { keys, count, types } = request;
  const threshold = request.ordered?.threshold ?? ORDERED_SCAN_THRESHOLD;
  const ordered = keys.length === 1 && keys[0].ordered !== undefined && types.length === 1 && (await estimateMatches(db, request.where)) >= threshold;
  const found = ordered ? await orderFirst(db, request, count + 1) : await filterFirst(db, request, count + 1);
  const page = found.slice(0, count);
  if (request.cursor?.direction === 'previous') page.reverse();
  const rows = await rowsOf(db, page.map((p) => p.rid));
  return { rows, keys: page.map((p) => p.keys), more: found.length > count, ...(found[0]?.total !== undefined ? { total: found[0].total } : {}) };
}
