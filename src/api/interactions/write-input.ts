/**
 * What every write does before touching the store: check the body is a
 * resource of the URL's type, strip server-owned meta, validate (422 with
 * every issue), and work out the patients it belongs to.
 */
import type { Resource } from 'fhir/r4';
import { badRequest, FhirError } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { criteriaKey, header, type FhirRequest, type QueryParams } from '../../kernel/request';
import { parseQueryString } from '../../kernel/query-string';

export interface PreparedResource {
  resource: Resource;
  patientIds: string[];
}

/**
 * The patients a write's body names, told to the audit whatever happens next
 * (a refused write is audited about them, naming `target`: the `Type/id` it wrote).
 */
export function tellNamedPatients(session: Session, body: Resource, target?: string): void {
  try {
    session.audit.named(session.compartment.patientsOf(body), target);
  } catch {
    // a body too malformed to read its patients from names none
  }
}

export function requireResourceBody(body: unknown, type: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a FHIR resource (a JSON object)');
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string') throw badRequest('the body has no resourceType', 'resourceType');
  if (resourceType !== type) throw badRequest(`the body is a ${resourceType.slice(0, 64)}, the URL names ${type}`, 'resourceType');
  return body as Resource;
}

/** Server-owned meta (versionId, lastUpdated) is never taken from the client. */
function withoutServerMeta(resource: Resource): Resource {
  if (!resource.meta) return resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = resource.meta;
  const copy = { ...resource, meta };
  if (Object.keys(meta).length === 0) delete (copy as { meta?: unknown }).meta;
  return copy;
}

export function prepareResource(session: Session, resource: Resource, id: string): PreparedResource {
  const prepared = withoutServerMeta({ ...resource, id });
  const issues = session.validator.validate(prepared, { profiles: session.access.profilesFor(prepared) });
  const errors = issues.filter((issue) => issue.severity === undefined || issue.severity === 'error' || issue.severity === 'fatal');
  if (errors.length > 0) throw FhirError.withIssues(422, errors);
  return { resource: prepared, patientIds: session.compartment.patientsOf(prepared) };
}

/** `If-Match: W/"3"` → 3; absent → undefined; malformed → 400. */
export function ifMatchVersion(request: FhirRequest): number | undefined {
  const value = header(request, 'if-match');
  if (value === undefined) return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(value.trim());
  if (!match) throw badRequest(`malformed If-Match header (expected W/"<versionId>")`);
  return Number(match[1]);
}

export function requireVersionMatch(expected: number | undefined, actual: number | undefined, what: string): void {
  if (expected !== undefined && expected !== actual) {
    throw new FhirError(412, 'conflict', `version conflict on ${what}: If-Match ${expected}, current ${actual ?? 'none'}`);
  }
}

/** Parses conditional criteria (If-None-Exist header, or the query of a conditional URL). */
export function parseCriteria(criteria: string): QueryParams {
  const text = criteria.includes('?') ? criteria.slice(criteria.indexOf('?') + 1) : criteria;
  const params = parseQueryString(text, { plusAsSpace: true });
  if (params.length === 0) throw badRequest('conditional operation without search criteria');
  return params;
}

/**
 * Serialises conditional operations with the same criteria: two concurrent
 * conditional creates never both see "no match". Held until the transaction ends.
 */
export async function lockCriteria(session: Session, type: string, criteria: QueryParams): Promise<void> {
  await session.store.lockKey(criteriaKey(type, criteria));
}
