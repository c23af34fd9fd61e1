/**
 * The SearchEngine of Carnet over PostgreSQL: parses the query (query.ts),
 * compiles each filter per searched type (compiler.ts) inside one WHERE clause
 * that also holds the access predicate of that type, reads a keyset page
 * (page.ts, paging.ts, sort.ts), counts, and follows `_include`/`_revinclude`
 * (include.ts). Filtering happens in SQL before paging, so pages are full and
 * totals exact. Never fetches a row the access predicate excludes.
 */
import type { Meta, OperationOutcome } from 'fhir/r4';
import type { Executor } from '../store/executor';
import { denyAll, type RowPredicate } from '../kernel/predicate';
import { fromRow, RESOURCE_COLUMNS, type StoredResource, type StoreObserver } from '../store/resources';
import type { EverythingQuery, EverythingRow, SearchEngine, SearchRequest, SearchResult } from '../kernel/ports';
import type { QueryParams } from '../kernel/request';
import { badRequest, toOperationOutcome, type IssueDetail } from '../kernel/errors';
import type { SearchParameterRegistry } from './parameters';
import { compileFilter, newContext } from './compiler';
import type { CompileContext } from './filter';
import { parseQuery, type Handling, type ParsedQuery } from './query';
import { sortKeys } from './sort';
import { processCursors, type Cursor, type CursorCodec } from './paging';
import { estimateMatches, readPage, type OrderedScanOptions, type Page } from './page';
import { resolveIncludes } from './include';
import { namedPatients } from './patients';
import { and, or, run, sql, type Sql } from './sql';
import { everythingPage } from './everything';
import { metaInUse, reindexRow } from './meta';

type Row = Parameters<typeof fromRow>[0] & Record<string, unknown>;

export interface SearchEngineOptions {
  /** FHIR base of this server: absolute references on it are local ones. */
  baseUrl?: string;
  /** When a sorted search reads the sort key's index in order (page.ts). */
  orderedScan?: OrderedScanOptions;
  /** Seals the paging cursors (paging.ts); the server's comes from the database's secret. */
  cursors?: CursorCodec;
}

const COLUMNS = RESOURCE_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ');

export class SqlSearchEngine implements SearchEngine {
  constructor(
    private readonly db: Executor,
    private readonly registry: SearchParameterRegistry,
    private readonly options: SearchEngineOptions = {},
    private readonly observer: Pick<StoreObserver, 'disclosed'> = { disclosed: () => {} },
  ) {}

  async search(request: SearchRequest): Promise<SearchResult> {
    const result = await asClientError(() => this.run(request));
    this.observer.disclosed([...result.matches, ...result.included]);
    return result;
  }

  match(resourceType: string, query: QueryParams, access: RowPredicate, limit: number): Promise<StoredResource[]> {
    return asClientError(() => this.matchRows(resourceType, query, access, limit));
  }

  /** One page of `Patient/X/$everything` (search/everything.ts). */
  async everything(query: EverythingQuery, access: RowPredicate): Promise<EverythingRow[]> {
    const rows = await everythingPage(this.db, query, access);
    this.observer.disclosed(rows.slice(0, query.limit - 1).map(({ row }) => row));
    return rows;
  }

  /** The profiles, tags and security labels of the rows `access` lets through (search/meta.ts). */
  metaInUse(resourceType: string | undefined, access: RowPredicate): Promise<Meta> {
    return metaInUse(this.db, resourceType, access);
  }

  /** Replaces the index rows of a row whose meta changed in place (search/meta.ts). */
  reindex(row: StoredResource): Promise<void> {
    return reindexRow(this.db, this.registry, row, this.options.baseUrl);
  }

  private async run(request: SearchRequest): Promise<SearchResult> {
    const handling: Handling = request.handling === 'strict' ? 'strict' : 'lenient';
    const parsed = parseQuery(this.registry, request.resourceType, request.query, handling);
    const db = this.db;
    const types = request.resourceType ? [request.resourceType] : parsed.types?.length ? parsed.types : await presentTypes(db);
    const ctx = this.context(request.access);
    const where = whereClause(ctx, types, parsed.filters);
    const keys = sortKeys(this.registry, types, parsed.sort, 'r');
    const cursors = this.options.cursors ?? processCursors;
    const cursor = parsed.cursor ? cursors.decode(parsed.cursor, parsed.sort ?? '', keys.length) : undefined;
    const count = parsed.summary === 'count' ? 0 : parsed.count;
    // A patient's compartment is bounded: its matches are counted by the page's own statement (one
    // pass of the filters and the access predicate instead of two). An open search may match
    // millions; its count streams in a statement of its own (a window would hold every match).
    const withTotal = parsed.total === 'accurate' && namedPatients(request.resourceType, request.query, this.options.baseUrl).length > 0;
    const page: Page = count > 0 ? await readPage(db, { where, types, keys, cursor, count, ordered: this.options.orderedScan, withTotal }) : { rows: [], keys: [], more: false };
    const total = await this.total(db, where, parsed, page, cursor, count);
    const { included, truncated } = parsed.includes.length > 0 && page.rows.length > 0 ? await resolveIncludes(db, parsed.includes, page.rows, request.access) : { included: [], truncated: false };
    const links = count > 0 ? pageLinks(parsed, page, cursor, cursors) : {};
    return { matches: page.rows, included, total, selfQuery: parsed.selfQuery, ...links, outcome: warnings(parsed, truncated) };
  }

  private async matchRows(resourceType: string, query: QueryParams, access: RowPredicate, limit: number): Promise<StoredResource[]> {
    const parsed = parseQuery(this.registry, resourceType, query, 'strict');
    // One predicate comes with a conditional operation, for its type: chains and _has into other types see nothing.
    const ctx = this.context((type) => (type === resourceType ? access : denyAll));
    const where = whereClause(ctx, [resourceType], parsed.filters);
    const result = await run<{ rows: Row[] }>(this.db, sql(`SELECT ${COLUMNS} FROM resources r WHERE ${where.sql} ORDER BY r.rid LIMIT ?`, [...where.bindings, limit]));
    return result.rows.map(fromRow);
  }

  private context(access: (resourceType: string) => RowPredicate): CompileContext {
    return newContext({ registry: this.registry, access, baseUrl: this.options.baseUrl, now: new Date() });
  }

  private async total(db: Executor, where: Sql, parsed: ParsedQuery, page: Page, cursor: Cursor | undefined, count: number): Promise<number | undefined> {
    if (parsed.total === 'none') return undefined;
    if (parsed.total === 'accurate' && page.total !== undefined) return page.total; // counted with the page
    if (parsed.total === 'accurate' && !cursor && count > 0 && !page.more) return page.rows.length; // the first page holds everything
    if (parsed.total === 'estimate') return estimateMatches(db, where);
    const result = await run<{ rows: { count: string }[] }>(db, sql(`SELECT count(*) AS count FROM resources r WHERE ${where.sql}`, where.bindings));
    return Number(result.rows[0].count);
  }
}

/**
 * A value PostgreSQL cannot take (SQLSTATE class 22, data exception: a
 * tampered cursor, a number out of range) is the client's error, a 400, not
 * a 500. Everything else propagates.
 */
async function asClientError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('22')) throw badRequest(`Invalid search value: ${(error as Error).message.replace(/^.* - /, '')}`);
    throw error;
  }
}

/** `NOT deleted AND (one clause per type: its access predicate and its filters)`. */
function whereClause(ctx: CompileContext, types: string[], filters: [string, string][]): Sql {
  const perType = types.map((type) => {
    const predicate = ctx.access(type).render('r');
    const conditions = filters.map(([key, value]) => compileFilter(ctx, type, 'r', key, value, key));
    return and([sql('r.resource_type = ?', [type]), sql(predicate.sql, predicate.bindings), ...conditions]);
  });
  return and([sql('NOT r.deleted'), or(perType)]);
}

/** The resource types present in the database (a loose index scan: one probe per type). */
async function presentTypes(db: Executor): Promise<string[]> {
  const result = await db.query<{ t: string }>(`
    WITH RECURSIVE types AS (
      SELECT min(resource_type) AS t FROM resources
      UNION ALL
      SELECT (SELECT min(resource_type) FROM resources WHERE resource_type > types.t) FROM types WHERE types.t IS NOT NULL
    ) SELECT t FROM types WHERE t IS NOT NULL`);
  return result.rows.map((row) => row.t);
}

function withCursor(query: QueryParams, cursor: string): QueryParams {
  return [...query.filter(([key]) => key !== '_cursor'), ['_cursor', cursor]];
}

/** next/previous queries from the first and last rows (or the cursor itself on an empty page). */
function pageLinks(parsed: ParsedQuery, page: Page, cursor: Cursor | undefined, cursors: CursorCodec): Pick<SearchResult, 'next' | 'previous'> {
  const sort = parsed.sort ?? '';
  const last = page.rows.length > 0 ? { keys: page.keys[page.keys.length - 1], rid: page.rows[page.rows.length - 1].rid } : cursor;
  const first = page.rows.length > 0 ? { keys: page.keys[0], rid: page.rows[0].rid } : cursor;
  const backwards = cursor?.direction === 'previous';
  const hasNext = backwards ? true : page.more;
  const hasPrevious = backwards ? page.more : cursor !== undefined;
  const links: Pick<SearchResult, 'next' | 'previous'> = {};
  if (hasNext && last) links.next = withCursor(parsed.selfQuery, cursors.encode({ direction: 'next', sort, keys: last.keys, rid: last.rid }));
  if (hasPrevious && first) links.previous = withCursor(parsed.selfQuery, cursors.encode({ direction: 'previous', sort, keys: first.keys, rid: first.rid }));
  return links;
}

function warnings(parsed: ParsedQuery, truncated: boolean): OperationOutcome | undefined {
  const issues: IssueDetail[] = parsed.dropped.map((key) => ({ severity: 'warning', code: 'not-supported', message: `Unknown or unsupported search parameter '${key}' was ignored`, expression: [key] }));
  if (truncated) issues.push({ severity: 'warning', code: 'too-costly', message: 'Included resources were limited to the first 1000' });
  return issues.length > 0 ? toOperationOutcome(issues) : undefined;
}
