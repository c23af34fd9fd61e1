/**
 * `$meta-add` and `$meta-delete` on `[type]/[id]` and `[type]/[id]/_history/[vid]`
 * (resource-operations.html#meta-add, #meta-delete): the profiles, tags and
 * security labels of the `meta` parameter added to or deleted from the stored
 * meta of that version, in place — no new version, the history unchanged —
 * and, for the current version, its index rows replaced (`_tag`, `_profile`,
 * `_security` find it at once). Answers Parameters `return` (the resulting Meta).
 *
 * The rights are an update's, checked as the PUT path checks them: the update
 * scope; a row the caller may not see and an id that does not exist get one
 * answer (read.ts `unseen`); a deleted resource is 410 as its read (its earlier
 * versions too: an update of it would be a re-create); then the
 * write rules (`checkWrite('update')`) on the current version with the change
 * made — a caller who reads but may not update gets an update's refusal.
 * Then the version with its new meta is validated (a profile added must be
 * met: 422). Audited as the write it is (the store reports it written).
 * Never changes a resource's content besides its meta, never its versionId or lastUpdated.
 */
import type { Meta, Parameters, Resource } from 'fhir/r4';
import { badRequest, FhirError } from '../../kernel/errors';
import type { Handler, Session } from '../../kernel/ports';
import type { StoredResource } from '../../kernel/stored';
import { requireStoredType, requireValidId } from '../../kernel/resource-types';
import { checkInstanceScope, unseen } from './read';
import { versionHeaders } from './responses';
import { prepareResource } from './write-input';
import { changedMeta, readMetaParameter, requireChangeable, type MetaChange, type MetaMode } from './meta-input';

/** `POST [type]/[id]/$meta-add|$meta-delete` and `[type]/[id]/_history/[vid]/$meta-add|$meta-delete`. */
export function metaChangeInteraction(mode: MetaMode): Handler {
  return async (request, session, params) => {
    const { type, id, vid } = params;
    requireStoredType(type, `$meta-${mode}`);
    requireValidId(id);
    if (vid !== undefined && !/^[1-9]\d{0,9}$/.test(vid)) throw badRequest(`invalid version id "${vid.slice(0, 20)}"`);
    const change = readMetaParameter(request.body);
    requireChangeable(change, mode);
    await checkInstanceScope(session, type, id, 'u');
    const meta = await session.transaction((trx) => changeMeta(trx, { type, id, vid: vid === undefined ? undefined : Number(vid) }, change, mode));
    const body: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'return', valueMeta: meta }] };
    return { status: 200, body };
  };
}

interface Target {
  type: string;
  id: string;
  vid?: number;
}

/** Under the row lock: visibility, 410, the update's rights, validation, then the meta written in place. */
async function changeMeta(trx: Session, target: Target, change: MetaChange, mode: MetaMode): Promise<Meta> {
  const { type, id, vid } = target;
  const current = await trx.store.lock(type, id);
  const visible = current && (await trx.store.read(type, id, trx.access.readable(type)));
  if (!current || !visible) throw await unseen(trx, type, id);
  if (current.deleted || !current.content) throw gone(trx, current);
  const version = vid === undefined || vid === current.versionId ? current : await trx.store.vread(type, id, vid, trx.access.readable(type));
  if (!version) throw await unseen(trx, type, id, `${type}/${id}/_history/${vid}`);
  if (version.deleted || !version.content) throw gone(trx, version);
  const rights = withChange(current.content, change, mode);
  await trx.access.checkWrite('update', rights, current, trx.compartment.patientsOf(rights));
  const next = version === current ? rights : withChange(version.content, change, mode);
  prepareResource(trx, next, id); // 422 when the version does not meet a profile it now claims
  const meta = next.meta ?? {};
  if (JSON.stringify(meta) === JSON.stringify(version.content.meta ?? {})) return meta; // nothing to change
  const written = await trx.store.replaceMeta(current, version.versionId, meta);
  if (!written) throw gone(trx, version);
  if (written.versionId === current.versionId) await trx.search.reindex({ ...current, content: written.content });
  return meta;
}

function withChange(resource: Resource, change: MetaChange, mode: MetaMode): Resource {
  return { ...resource, meta: changedMeta(resource.meta, change, mode) };
}

function gone(session: Session, stored: StoredResource): FhirError {
  return new FhirError(410, 'deleted', `${stored.resourceType}/${stored.id} was deleted`, undefined, versionHeaders(session, stored, false));
}
