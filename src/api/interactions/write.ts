/**
 * create, update and their conditional forms. Create-on-update (a client id)
 * only outside patient data (CONTRACT §2): a PUT of patient data to an id
 * that does not exist is the same 404 as one to an id the caller may not see,
 * with or without If-Match, alone or as a Bundle entry. Every version is
 * assigned under a row lock and every conditional operation under an advisory
 * lock on its criteria, so concurrent writers never lose an update and
 * conditional creates never duplicate. A create resolves its own conditional
 * references (bundle/conditional.ts); an `If-None-Exist` on an exact INS-NIR
 * may answer the holder's identity subset (search/identity.ts, no version
 * headers), and a second Patient with a held NIR is 409 (store/identities.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from 'fhir/r4';
import { badRequest, FhirError } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { header, type FhirRequest, type FhirResponse, type QueryParams } from '../../kernel/request';
import { requireStoredType, requireValidId } from '../../kernel/resource-types';
import { submitterOf } from '../../kernel/caller';
import { knownFromRead, readCompanions, servedResource, versionHeaders, writeResponse } from './responses';
import { matchOrResolve } from '../../search/identity';
import { isIdentitySubset } from '../../access/patient-identity';
import { resolveConditionalReferences } from '../bundle/conditional';
import { isPatientData } from '../../access/vocabulary';
import { checkInstanceScope, unseen } from './read';
import { ifMatchVersion, lockCriteria, parseCriteria, prepareResource, requireResourceBody, requireVersionMatch, tellNamedPatients } from './write-input';

export async function createInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type } = params;
  requireStoredType(type, 'create');
  session.access.checkScope(type, 'c');
  const body = requireResourceBody(request.body, type);
  await resolveConditionalReferences(session, body);
  tellNamedPatients(session, body);
  const { resource, patientIds } = prepareResource(session, body, request.assignedId ?? randomUUID());
  await session.access.checkWrite('create', resource, undefined, patientIds);
  const ifNoneExist = header(request, 'if-none-exist');
  const criteria = ifNoneExist ? parseCriteria(ifNoneExist) : undefined;
  const input = { resource, patientId: patientIds[0] ?? null, createdBy: submitterOf(session.caller), method: 'POST' as const, generatedId: true };
  if (!criteria) {
    // nothing to match first: the insert is all the write (one statement when its indexing allows: ResourceStore.insertNew)
    const stored = await session.store.insertNew(input, request.bundle ? undefined : readCompanions(session));
    if (!stored) throw new FhirError(409, 'conflict', `${type}/${resource.id} already exists`);
    return writeResponse(request, session, stored, 201, `created ${type}/${stored.id}`, knownFromRead(stored));
  }
  const outcome = await session.transaction(async (trx) => {
    await lockCriteria(trx, type, criteria);
    const existing = await matchOrResolve(trx, type, criteria, 2); // an exact INS-NIR resolves to its Patient's identity
    if (existing.length > 1) throw new FhirError(412, 'duplicate', `If-None-Exist matches ${existing.length} ${type} resources`);
    if (existing.length === 1) {
      trx.audit.disclosed(existing); // answered with the existing resource
      return { stored: existing[0], created: false };
    }
    const stored = await trx.store.insertNew(input);
    if (!stored) throw new FhirError(409, 'conflict', `${type}/${resource.id} already exists`);
    return { stored, created: true };
  });
  if (!outcome.created) {
    const { stored } = outcome;
    const headers = isIdentitySubset(stored.content) ? { Location: `${session.baseUrl}/Patient/${stored.id}` } : versionHeaders(session, stored, true);
    return { status: 200, headers, body: await servedResource(request, session, stored.content as Resource) };
  }
  return writeResponse(request, session, outcome.stored, 201, `created ${type}/${outcome.stored.id}`);
}

export async function updateInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id } = params;
  requireStoredType(type, 'update');
  requireValidId(id);
  const body = requireResourceBody(request.body, type);
  tellNamedPatients(session, body, `${type}/${id}`);
  if (body.id === undefined) throw badRequest('the resource has no id; PUT needs it equal to the URL id', 'id');
  if (body.id !== id) throw badRequest(`the resource id "${String(body.id).slice(0, 64)}" differs from the URL id "${id}"`, 'id');
  return putResource(request, session, type, id, body);
}

/** PUT [type]?criteria: update the single match, create when none, 412 when several. */
export async function conditionalUpdateInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type } = params;
  requireStoredType(type, 'update');
  const criteria = requireQuery(request.query);
  const body = requireResourceBody(request.body, type);
  tellNamedPatients(session, body);
  if (body.id !== undefined) requireValidId(String(body.id));
  return session.transaction(async (trx) => {
    await lockCriteria(trx, type, criteria);
    const matches = await trx.search.match(type, criteria, trx.access.readable(type), 2);
    if (matches.length > 1) throw new FhirError(412, 'multiple-matches', `the criteria match ${matches.length} ${type} resources`);
    if (matches[0] && body.id !== undefined && body.id !== matches[0].id) {
      throw badRequest(`the resource id "${String(body.id)}" differs from the matching ${type}/${matches[0].id}`, 'id');
    }
    if (matches[0] || body.id !== undefined) return putResource(request, trx, type, matches[0]?.id ?? (body.id as string), body);
    return putResource(request, trx, type, request.assignedId ?? randomUUID(), body, { serverId: true }); // no match, no id: a create
  });
}

/** Patient data is never created under a client's id (CONTRACT §2). */
function createsUnderClientId(session: Session, type: string, options: { serverId?: boolean }): boolean {
  return !options.serverId && isPatientData(type, (t) => session.compartment.has(t));
}

/**
 * PUT Type/id: updates the row, or creates it — under a client's id only
 * outside patient data. A row the caller may not see and, for patient data,
 * an id that does not exist get one answer (`unseen`), before If-Match.
 */
async function putResource(request: FhirRequest, session: Session, type: string, id: string, body: Resource, options: { serverId?: boolean } = {}): Promise<FhirResponse> {
  await checkInstanceScope(session, type, id, 'u');
  const expected = ifMatchVersion(request);
  const { resource, patientIds } = prepareResource(session, body, id);
  const { stored, created } = await session.transaction(async (trx) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await trx.store.lock(type, id);
      const writable = current ? (await trx.store.read(type, id, trx.access.readable(type))) !== undefined : !createsUnderClientId(trx, type, options);
      if (!writable) throw await unseen(trx, type, id);
      requireVersionMatch(expected, current?.versionId, `${type}/${id}`);
      const input = { resource, patientId: patientIds[0] ?? null, createdBy: submitterOf(trx.caller), method: 'PUT' as const };
      if (current && !current.deleted) {
        await trx.access.checkWrite('update', resource, current, patientIds);
        return { stored: await trx.store.writeNext(current, input), created: false };
      }
      trx.access.checkScope(type, 'c');
      await trx.access.checkWrite('create', resource, current, patientIds);
      if (current) return { stored: await trx.store.writeNext(current, input), created: true };
      const inserted = await trx.store.insert(input);
      if (inserted) return { stored: inserted, created: true };
      // a concurrent create-on-update took the id first: lock it and update it
    }
    throw new FhirError(409, 'conflict', `${type}/${id} is being written concurrently; retry`);
  });
  return writeResponse(request, session, stored, created ? 201 : 200, `${created ? 'created' : 'updated'} ${type}/${id}`);
}

export function requireQuery(query: QueryParams): QueryParams {
  const criteria = query.filter(([key]) => key !== '_format');
  if (criteria.length === 0) throw badRequest('a conditional operation needs search criteria in the URL');
  return criteria;
}

