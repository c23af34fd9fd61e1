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
 * pages are full; nor a reference to one (responses.ts servedResources). A
 * caller who may not read the Patient gets 404.
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4';
import { badRequest, FhirError, notFound } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { queryValue, type FhirRequest, type FhirResponse, type QueryParams } from '../../kernel/request';
import { isConformanceType, requireStoredType, requireValidId } from '../../kernel/resource-types';
import { allResourceTypes } from '../../kernel/definitions';
import type { StoredResource } from '../../store/resources';
import { readsType } from '../../identity/scopes';
import { parseHistoryParams } from './history';
import { servedResources } from './responses';

const DEFAULT_COUNT = 100;
const KNOWN_PARAMS = new Set(['_count', '_since', '_type', '_cursor']);
const NOT_STORED = new Set(['Bundle', 'Parameters', 'OperationOutcome']);

export async function everythingInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { id } = params;
  requireValidId(id);
  session.audit.named([id]);
  await session.access.checkPatientSpace(id);
  session.access.checkScope('Patient', 'r');
  const patient = await session.store.read('Patient', id, session.access.readable('Patient'));
  if (!patient) throw notFound(`Patient/${id} is not known`);
  if (patient.deleted) throw new FhirError(410, 'deleted', `Patient/${id} was deleted`);
  const history = parseHistoryParams(request.query, session.pageTokens);
  const count = queryValue(request.query, '_count') === undefined ? DEFAULT_COUNT : history.count;
  const types = readableTypes(session, requestedTypes(request.query));
  const page = types.length === 0 ? [] : await session.search.everything({ patientId: id, types, since: history.since, after: history.cursor, limit: count + 1 }, session.access.readable());
  const rows = page.slice(0, count);
  const selfQuery = request.query.filter(([key]) => KNOWN_PARAMS.has(key));
  const links: BundleLink[] = [{ relation: 'self', url: linkUrl(session, id, selfQuery) }];
  if (page.length > count) {
    const next = selfQuery.filter(([key]) => key !== '_cursor');
    next.push(['_cursor', session.pageTokens.seal({ h: rows[rows.length - 1].row.rid })]); // sealed like history's
    links.push({ relation: 'next', url: linkUrl(session, id, next) });
  }
  const served = await servedResources(request, session, rows.map(({ row }) => row.content as Resource));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link: links, entry: rows.map(({ row, member }, index) => searchEntry(session, row, served[index], member)) };
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

/** The stored types (or the requested ones) the caller's scopes let it read (identity/scopes.ts). */
function readableTypes(session: Session, requested: string[] | undefined): string[] {
  const candidates = requested ?? [...allResourceTypes()].filter((type) => !isConformanceType(type) && !NOT_STORED.has(type));
  return candidates.filter((type) => readsType(session.caller, type));
}

function searchEntry(session: Session, row: StoredResource, resource: Resource, member: boolean): BundleEntry {
  return {
    fullUrl: `${session.baseUrl}/${row.resourceType}/${row.id}`,
    resource,
    search: { mode: member ? 'match' : 'include' },
  };
}

function linkUrl(session: Session, id: string, query: QueryParams): string {
  const search = new URLSearchParams(query).toString();
  return `${session.baseUrl}/Patient/${id}/$everything${search ? `?${search}` : ''}`;
}
