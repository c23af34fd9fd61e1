/**
 * patch with JSON Patch (RFC 6902, `application/json-patch+json`) or FHIRPath
 * Patch (a Parameters, `application/fhir+json`), on an id or on conditional criteria. The patched resource is validated like any write;
 * a patch may not change the id, the type or server-owned meta.
 */
import type { Parameters, Resource } from 'fhir/r4';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { badRequest, FhirError, notFound, unprocessable } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { header, type FhirRequest, type FhirResponse } from '../../kernel/request';
import { requireStoredType, requireValidId } from '../../kernel/resource-types';
import { submitterOf } from '../../kernel/caller';
import { writeResponse } from './responses';
import { ifMatchVersion, lockCriteria, prepareResource, requireVersionMatch } from './write-input';
import { requireQuery } from './write';
import { checkInstanceScope, unseen } from './read';
import { applyFhirPathPatch, isFhirPathPatch } from '../bundle/fhirpath-patch';

export async function patchInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id } = params;
  requireStoredType(type, 'patch');
  requireValidId(id);
  await checkInstanceScope(session, type, id, 'u');
  const patch = requirePatch(request);
  return session.transaction((trx) => patchOne(request, trx, type, id, patch));
}

export async function conditionalPatchInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type } = params;
  requireStoredType(type, 'patch');
  const patch = requirePatch(request);
  const criteria = requireQuery(request.query);
  return session.transaction(async (trx) => {
    await lockCriteria(trx, type, criteria);
    const matches = await trx.search.match(type, criteria, trx.access.readable(type), 2);
    if (matches.length > 1) throw new FhirError(412, 'multiple-matches', `the criteria match ${matches.length} ${type} resources`);
    if (matches.length === 0) throw notFound(`no ${type} matches the criteria`);
    return patchOne(request, trx, type, matches[0].id, patch);
  });
}

/** A patch document: JSON Patch operations, or a FHIRPath Patch Parameters resource. */
type PatchDocument = { kind: 'json'; operations: Operation[] } | { kind: 'fhirpath'; parameters: Parameters };

function requirePatch(request: FhirRequest): PatchDocument {
  const contentType = header(request, 'content-type') ?? '';
  const body = request.body;
  if (/^application\/(fhir\+)?json/i.test(contentType) && !/json-patch/i.test(contentType)) {
    if (!isFhirPathPatch(body)) throw new FhirError(415, 'not-supported', 'PATCH takes application/json-patch+json (JSON Patch) or a FHIRPath Patch Parameters');
    return { kind: 'fhirpath', parameters: body };
  }
  if (!/^application\/json-patch\+json/i.test(contentType)) {
    throw new FhirError(415, 'not-supported', 'PATCH takes application/json-patch+json (JSON Patch) or application/fhir+json (FHIRPath Patch)');
  }
  if (!Array.isArray(body)) throw badRequest('a JSON Patch document is an array of operations');
  const error = jsonpatch.validate(body as Operation[]);
  if (error) throw badRequest(`invalid JSON Patch operation ${error.index ?? ''}: ${error.message}`);
  for (const [index, operation] of (body as Operation[]).entries()) {
    if (/^\/(id|resourceType|meta\/versionId|meta\/lastUpdated)(\/|$)/.test(operation.path)) {
      throw unprocessable(`JSON Patch operation ${index} may not change ${operation.path}`, operation.path.slice(1).replace(/\//g, '.'));
    }
  }
  return { kind: 'json', operations: body as Operation[] };
}

function applyPatch(resource: Resource, patch: PatchDocument): Resource {
  if (patch.kind === 'fhirpath') return applyFhirPathPatch(resource, patch.parameters);
  try {
    return jsonpatch.applyPatch(structuredClone(resource), patch.operations, true, true, true).newDocument;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TEST_OPERATION_FAILED') throw unprocessable('a JSON Patch test operation failed');
    throw unprocessable(`the JSON Patch cannot be applied: ${(error as Error).message}`);
  }
}

async function patchOne(request: FhirRequest, session: Session, type: string, id: string, patch: PatchDocument): Promise<FhirResponse> {
  session.access.checkScope(type, 'u');
  const visible = await session.store.read(type, id, session.access.readable(type));
  const current = visible ? await session.store.lock(type, id) : undefined;
  if (!current) throw await unseen(session, type, id);
  if (current.deleted) throw new FhirError(410, 'deleted', `${type}/${id} was deleted`);
  requireVersionMatch(ifMatchVersion(request), current.versionId, `${type}/${id}`);
  const patched = applyPatch(current.content as Resource, patch);
  if (patched.id !== id || patched.resourceType !== type) throw unprocessable('a patch may not change the id or the type of the resource');
  const { resource, patientIds } = prepareResource(session, patched, id);
  await session.access.checkWrite('patch', resource, current, patientIds);
  const stored = await session.store.writeNext(current, { resource, patientId: patientIds[0] ?? null, createdBy: submitterOf(session.caller), method: 'PATCH' });
  return writeResponse(request, session, stored, 200, `patched ${type}/${id}`);
}
