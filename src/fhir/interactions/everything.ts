/**
 * `GET Patient/{id}/$everything` (patient-operation-everything): the Patient,
 * every resource of its compartment, and the resources those reference
 * (practitioners, organizations, medications, binaries…), as a searchset
 * paged by a keyset cursor on `rid` (`_cursor`, like history), with `_count`,
 * `_since` and `_type`.
 *
 * Membership, in one SQL statement:
 *  - rows whose `patient_id` is the patient (the store fills it from the
 *    CompartmentDefinition with the resource's first patient), and
 *  - rows whose compartment search parameters (`search_reference`, e.g.
 *    Observation.subject, Encounter.participant) reference Patient/{id},
 *    which covers resources shared by several patients;
 *  - plus one level of resources referenced by those (through indexed
 *    reference search parameters only), unless they belong to another
 *    patient (a referenced Patient/other or its data is never included).
 * `start`/`end` (care dates) are not supported and dropped from the self link.
 *
 * Never returns a row the caller may not read: the access predicate and the
 * caller's scopes (types it may read) are part of the SQL, before paging, so
 * pages are full. A caller who may not read the Patient gets 404.
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4';
import { badRequest, FhirError, notFound } from '../errors';
import type { FhirContext } from '../context';
import { queryValue, type FhirRequest, type FhirResponse, type QueryParams } from '../request';
import { isConformanceType, requireStoredType, requireValidId } from '../resource-types';
import { allResourceTypes, patientCompartment } from '../definitions';
import { fromRow, RESOURCE_COLUMNS, type StoredResource } from '../../store/resources';
import type { SqlBinding } from '../../store/predicate';
import type { Caller } from '../../identity/caller';
import { run } from '../../search/sql';
import { parseHistoryParams } from './history';

const DEFAULT_COUNT = 100;
const KNOWN_PARAMS = new Set(['_count', '_since', '_type', '_cursor']);
const NOT_STORED = new Set(['Bundle', 'Parameters', 'OperationOutcome']);
const COLUMNS = RESOURCE_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ');

let compartmentParams: [string, string][] | undefined;

/** (resource type, search parameter) pairs that put a resource in a Patient's compartment. */
function compartmentPairs(): [string, string][] {
  compartmentParams ??= (patientCompartment().resource ?? []).flatMap((entry) => (entry.param ?? []).map((param): [string, string] => [entry.code, param]));
  return compartmentParams;
}

export async function everythingInteraction(request: FhirRequest, ctx: FhirContext, params: Record<string, string>): Promise<FhirResponse> {
  const { id } = params;
  requireValidId(id);
  await ctx.access.checkPatientSpace(request.caller, id);
  ctx.access.checkScope(request.caller, 'Patient', 'r');
  const patient = await ctx.store.read('Patient', id, ctx.access.readable(request.caller, 'Patient'));
  if (!patient) throw notFound(`Patient/${id} is not known`);
  if (patient.deleted) throw new FhirError(410, 'deleted', `Patient/${id} was deleted`);
  const history = parseHistoryParams(request.query);
  const count = queryValue(request.query, '_count') === undefined ? DEFAULT_COUNT : history.count;
  const types = readableTypes(ctx, request.caller, requestedTypes(request.query));
  const page = types.length === 0 ? [] : await everythingPage(ctx, request.caller, { id, types, since: history.since, after: history.cursor, limit: count + 1 });
  const rows = page.slice(0, count);
  const selfQuery = request.query.filter(([key]) => KNOWN_PARAMS.has(key));
  const links: BundleLink[] = [{ relation: 'self', url: linkUrl(ctx, id, selfQuery) }];
  if (page.length > count) {
    const next = selfQuery.filter(([key]) => key !== '_cursor');
    next.push(['_cursor', String(rows[rows.length - 1].row.rid)]);
    links.push({ relation: 'next', url: linkUrl(ctx, id, next) });
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link: links, entry: rows.map(({ row, member }) => searchEntry(ctx, row, member)) };
  return { status: 200, body: bundle };
}

/** `_type=Observation,Condition` (repeatable); undefined when absent. */
function requestedTypes(query: QueryParams): string[] | undefined {
  const values = query.filter(([key]) => key === '_type').flatMap(([, value]) => value.split(','));
  if (values.length === 0) return undefined;
  for (const type of values) {
    try {
      requireStoredType(type, '$everything');
    } catch {
      throw badRequest(`_type: ${type.slice(0, 64)} is not a resource type stored here`, '_type');
    }
  }
  return values;
}

/** The stored types (or the requested ones) the caller's scopes let it read. */
function readableTypes(ctx: FhirContext, caller: Caller, requested: string[] | undefined): string[] {
  const candidates = requested ?? [...allResourceTypes()].filter((type) => !isConformanceType(type) && !NOT_STORED.has(type));
  return candidates.filter((type) => {
    try {
      ctx.access.checkScope(caller, type, 'r');
      return true;
    } catch (error) {
      if (error instanceof FhirError && error.status === 403) return false;
      throw error;
    }
  });
}

interface PageQuery {
  id: string;
  types: string[];
  since?: Date;
  after?: number;
  limit: number;
}

interface EverythingRow {
  row: StoredResource;
  /** In the compartment (search mode match), or only referenced from it (include). */
  member: boolean;
}

async function everythingPage(ctx: FhirContext, caller: Caller, query: PageQuery): Promise<EverythingRow[]> {
  const pairs = compartmentPairs();
  const predicate = ctx.access.readable(caller).render('r');
  const bindings: SqlBinding[] = [query.id, ...pairs.flat(), query.id, query.id, ...predicate.bindings, `{${query.types.join(',')}}`];
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
  const result = await run<{ rows: (Parameters<typeof fromRow>[0] & { member: boolean })[] }>(ctx.store.db, { sql: text, bindings });
  return result.rows.map((row) => ({ row: fromRow(row), member: row.member }));
}

function searchEntry(ctx: FhirContext, row: StoredResource, member: boolean): BundleEntry {
  return {
    fullUrl: `${ctx.baseUrl}/${row.resourceType}/${row.id}`,
    resource: row.content as Resource,
    search: { mode: member ? 'match' : 'include' },
  };
}

function linkUrl(ctx: FhirContext, id: string, query: QueryParams): string {
  const search = new URLSearchParams(query).toString();
  return `${ctx.baseUrl}/Patient/${id}/$everything${search ? `?${search}` : ''}`;
}
