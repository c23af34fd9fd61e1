/**
 * search at type and system level (GET and `POST …/_search` with a form
 * body): builds the `searchset` Bundle from the SearchEngine's answer — total,
 * self/next/previous links on the FHIR base, entries with fullUrl and
 * search.mode (match, include, outcome), `_summary`/`_elements` applied.
 * Every type the search touches is read through the caller's access
 * predicate (and scopes), and every patient it names goes through
 * checkPatientSpace (alongside the search, which it must pass before
 * anything is answered); never returns a resource the caller may not see,
 * but for the identity subset an exact INS-NIR search resolves to
 * (search/identity.ts, CONTRACT §3).
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4';
import type { Session, SearchRequest, SearchResult } from '../../kernel/ports';
import { header, type FhirRequest, type FhirResponse, type QueryParams } from '../../kernel/request';
import { denyAll, type RowPredicate } from '../../kernel/predicate';
import type { StoredResource } from '../../store/resources';
import type { Handling, SummaryMode } from '../../search/query';
import { elementsParameter, shapeOf, summarize } from '../../search/summary';
import { namedPatients } from '../../search/patients';
import { searchOrResolve } from '../../search/identity';
import { readsType } from '../../identity/scopes';
import { servedResources } from './responses';

/** Query parameters of a form body (string, URLSearchParams-like pairs, or a parsed object). */
export function formParameters(body: unknown): QueryParams {
  if (typeof body === 'string') return [...new URLSearchParams(body).entries()];
  if (Array.isArray(body)) return body.filter((pair): pair is [string, string] => Array.isArray(pair) && pair.length === 2 && pair.every((v) => typeof v === 'string'));
  if (body && typeof body === 'object' && !('resourceType' in body)) {
    return Object.entries(body as Record<string, unknown>).flatMap(([key, value]) =>
      (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string').map((v): [string, string] => [key, v]),
    );
  }
  return [];
}

export function handlingOf(request: FhirRequest): Handling {
  return /handling\s*=\s*strict/i.test(header(request, 'prefer') ?? '') ? 'strict' : 'lenient';
}

function linkUrl(session: Session, resourceType: string | undefined, query: QueryParams): string {
  const search = new URLSearchParams(query).toString();
  return `${session.baseUrl}${resourceType ? `/${resourceType}` : ''}${search ? `?${search}` : ''}`;
}

function entry(session: Session, row: StoredResource, mode: 'match' | 'include', shape: (resource: Resource) => Resource): BundleEntry {
  return { fullUrl: `${session.baseUrl}/${row.resourceType}/${row.id}`, resource: shape(row.content as Resource), search: { mode } };
}

/** The query of a GET, or of a POST `_search` with its form body merged in. */
function searchQuery(request: FhirRequest): QueryParams {
  return request.method === 'POST' ? [...request.query, ...formParameters(request.body)] : request.query;
}

/** Scopes of the searched type(s): refused before anything is read. */
function checkScopes(request: FhirRequest, session: Session, resourceType: string | undefined, query: QueryParams): void {
  const types = resourceType ? [resourceType] : query.filter(([key]) => key === '_type').flatMap(([, value]) => value.split(',').map((t) => t.trim()).filter((t) => t !== ''));
  for (const type of types) session.access.checkScope(type, 's');
}

/** The patient spaces the search names (403 for one the caller may not enter). */
async function checkSpaces(session: Session, named: readonly string[]): Promise<void> {
  await Promise.all(named.map((patientId) => session.access.checkPatientSpace(patientId)));
}

/**
 * The access predicate per type touched (the searched ones, `_include`/`_revinclude` targets,
 * chains, `_has`); a type outside the caller's readable types (identity/scopes.ts) contributes nothing.
 */
function accessFor(session: Session, resourceType: string | undefined): (type: string) => RowPredicate {
  const allowed = new Map<string, boolean>();
  return (type) => {
    if (!allowed.has(type)) allowed.set(type, type === resourceType || readsType(session.caller, type));
    return allowed.get(type) ? session.access.readable(type) : denyAll;
  };
}

/** Matches and includes as served: references to what the caller may not see removed, one query for the page. */
async function servedResult(request: FhirRequest, session: Session, result: SearchResult): Promise<SearchResult> {
  const rows = [...result.matches, ...result.included];
  const served = await servedResources(request, session, rows.map((row) => row.content as Resource));
  const withServed = (offset: number) => (row: StoredResource, index: number): StoredResource => ({ ...row, content: served[offset + index] });
  return { ...result, matches: result.matches.map(withServed(0)), included: result.included.map(withServed(result.matches.length)) };
}

function searchsetBundle(session: Session, resourceType: string | undefined, query: QueryParams, result: SearchResult): Bundle {
  const summary = query.find(([key]) => key === '_summary')?.[1] as SummaryMode | undefined; // validated by the engine
  const shapeMatch = shapeOf(summary, elementsParameter(query));
  const shapeInclude = (resource: Resource) => summarize(resource, summary);
  const link: BundleLink[] = [{ relation: 'self', url: linkUrl(session, resourceType, result.selfQuery) }];
  if (result.next) link.push({ relation: 'next', url: linkUrl(session, resourceType, result.next) });
  if (result.previous) link.push({ relation: 'previous', url: linkUrl(session, resourceType, result.previous) });
  const entries: BundleEntry[] = [
    ...result.matches.map((row) => entry(session, row, 'match', shapeMatch)),
    ...result.included.map((row) => entry(session, row, 'include', shapeInclude)),
  ];
  if (result.outcome) entries.push({ resource: result.outcome, search: { mode: 'outcome' } });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(result.total !== undefined ? { total: result.total } : {}),
    link,
    ...(entries.length > 0 ? { entry: entries } : {}),
  };
}

export async function searchInteraction(request: FhirRequest, session: Session, resourceType?: string): Promise<FhirResponse> {
  const query = searchQuery(request);
  const named = namedPatients(resourceType, query, session.baseUrl); // told to the audit, then checked
  session.audit.named(named);
  checkScopes(request, session, resourceType, query);
  const searchRequest: SearchRequest = { resourceType, query, access: accessFor(session, resourceType), handling: handlingOf(request) };
  // The space check and the search run side by side (the search is filtered by the same rules
  // anyway); the check's 403 wins, and nothing of the search is answered before it passed.
  const searching = session.search.search(searchRequest);
  searching.catch(() => {});
  await checkSpaces(session, named);
  const result = await searchOrResolve(session, resourceType, query, await searching); // an exact INS-NIR search may resolve an identity
  return { status: 200, body: searchsetBundle(session, resourceType, query, await servedResult(request, session, result)) };
}
