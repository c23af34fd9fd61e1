/**
 * read and vread. Never returns a resource the caller's access predicate
 * excludes: such a resource is 404, exactly like one that does not exist —
 * except for a practitioner the resource's patient blocked, who gets 403
 * (CONTRACT §4.3 step 1; `unseen`, also the answer of history, update, patch
 * and delete for a row the caller may not see).
 */
import type { Resource } from 'fhir/r4';
import { FhirError, badRequest, notFound } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { header, type FhirRequest, type FhirResponse } from '../../kernel/request';
import { isConformanceType, requireKnownType, requireValidId } from '../../kernel/resource-types';
import { knownFromRead, readCompanions, servedResource, versionHeaders } from './responses';
import { elementsParameter, shapeOf, summaryParameter } from '../../search/summary';
import type { StoredResource } from '../../store/resources';
import type { ConformanceCatalogue } from '../../conformance/catalogue';

export function readInteraction(catalogue: ConformanceCatalogue) {
  return async (request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> => {
    const { type, id } = params;
    requireKnownType(type);
    requireValidId(id);
    if (isConformanceType(type)) {
      const resource = catalogue.read(type, id);
      if (!resource) throw notFound(`${type}/${id} is not known`);
      return { status: 200, body: shaped(request, resource) };
    }
    await checkInstanceScope(session, type, id, 'r');
    await checkNamedSpace(request, session, type, id);
    const stored = await session.store.read(type, id, session.access.readable(type), request.bundle ? undefined : readCompanions(session));
    if (!stored) throw await unseen(session, type, id);
    if (stored.deleted) throw gone(session, stored);
    if (notModified(request, stored)) return { status: 304, headers: versionHeaders(session, stored, false) };
    return { status: 200, body: shaped(request, await servedResource(request, session, stored.content as Resource, knownFromRead(stored))), headers: versionHeaders(session, stored, false) };
  };
}

/** The resource as `_summary`/`_elements` ask (search/summary.ts), tagged SUBSETTED when trimmed; `_summary=count` leaves it whole. */
function shaped(request: FhirRequest, resource: Resource): Resource {
  return shapeOf(summaryParameter(request.query), elementsParameter(request.query))(resource);
}

export async function vreadInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id, vid } = params;
  requireKnownType(type);
  requireValidId(id);
  if (!/^[1-9]\d{0,9}$/.test(vid)) throw badRequest(`invalid version id "${vid.slice(0, 20)}"`);
  await checkInstanceScope(session, type, id, 'r');
  await checkNamedSpace(request, session, type, id);
  const version = await session.store.vread(type, id, Number(vid), session.access.readable(type));
  if (!version) throw await unseen(session, type, id, `${type}/${id}/_history/${vid}`);
  if (version.deleted) throw gone(session, version);
  if (notModified(request, version)) return { status: 304, headers: versionHeaders(session, version, false) };
  return { status: 200, body: shaped(request, await servedResource(request, session, version.content as Resource)), headers: versionHeaders(session, version, false) };
}

/**
 * A practitioner naming Patient/X names X's space: blocked, or unauthorized in
 * TREAT, is 403 (CONTRACT §4.3 step 5). Patients asking for another patient get 404.
 */
export async function checkNamedSpace(_request: FhirRequest, session: Session, type: string, id: string): Promise<void> {
  if (type !== 'Patient') return;
  session.audit.named([id]);
  if (session.caller.kind === 'practitioner') await session.access.checkPatientSpace(id);
}

/**
 * The scopes of an interaction on `Type/id`: refused (403) before anything is
 * read for the caller, yet the refused row is told to the audit (an attempt
 * on X's data is audited about X).
 */
export async function checkInstanceScope(session: Session, type: string, id: string, interaction: 'r' | 'u' | 'd'): Promise<void> {
  try {
    session.access.checkScope(type, interaction);
  } catch (error) {
    if (error instanceof FhirError) await session.store.withhold(type, id);
    throw error;
  }
}

/**
 * The answer for `Type/id` the caller may not see or that does not exist:
 * 404, the same for both — but 403 when a practitioner asks for a row of a
 * patient who blocked them (CONTRACT §4.3 step 1, "anything about X"). The
 * 403 depends only on that block: an id that does not exist stays 404.
 */
export async function unseen(session: Session, type: string, id: string, what = `${type}/${id}`): Promise<FhirError> {
  if (session.caller.kind === 'practitioner') {
    const patientId = await session.store.patientOf(type, id);
    if (patientId) await session.access.checkNotBlocked(patientId);
  }
  return notFound(`${what} is not known`);
}

function gone(session: Session, stored: StoredResource): FhirError {
  return new FhirError(410, 'deleted', `${stored.resourceType}/${stored.id} was deleted`, undefined, versionHeaders(session, stored, false));
}

/**
 * Conditional read (http.html#cread): `If-None-Match` naming the current ETag
 * (`W/"n"`, `"n"` or `*`), or else `If-Modified-Since` at or after
 * `Last-Modified` (whole seconds, as the header carries them) → 304.
 */
function notModified(request: FhirRequest, stored: StoredResource): boolean {
  const noneMatch = header(request, 'if-none-match');
  if (noneMatch) return noneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === `"${stored.versionId}"` || tag.trim() === '*');
  const since = header(request, 'if-modified-since');
  if (since) {
    const date = Date.parse(since);
    return !Number.isNaN(date) && Math.floor(stored.lastUpdated.getTime() / 1000) <= Math.floor(date / 1000);
  }
  return false;
}
