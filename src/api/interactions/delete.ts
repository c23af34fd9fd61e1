/**
 * delete (logical: the row stays, marked deleted, and a later read is 410)
 * and conditional delete. Deleting a deleted resource succeeds again (204).
 */
import { FhirError, informational } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import type { FhirRequest, FhirResponse } from '../../kernel/request';
import { requireStoredType, requireValidId } from '../../kernel/resource-types';
import { submitterOf } from '../../kernel/caller';
import { returnPreference, versionHeaders } from './responses';
import { ifMatchVersion, lockCriteria, requireVersionMatch } from './write-input';
import { requireQuery } from './write';
import { checkInstanceScope, unseen } from './read';

export async function deleteInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id } = params;
  requireStoredType(type, 'delete');
  requireValidId(id);
  await checkInstanceScope(session, type, id, 'd');
  return session.transaction((trx) => deleteOne(request, trx, type, id));
}

export async function conditionalDeleteInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type } = params;
  requireStoredType(type, 'delete');
  session.access.checkScope(type, 'd');
  const criteria = requireQuery(request.query);
  return session.transaction(async (trx) => {
    await lockCriteria(trx, type, criteria);
    const matches = await trx.search.match(type, criteria, trx.access.readable(type), 2);
    if (matches.length > 1) throw new FhirError(412, 'multiple-matches', `the criteria match ${matches.length} ${type} resources`);
    if (matches.length === 0) return { status: 204 };
    return deleteOne(request, trx, type, matches[0].id);
  });
}

async function deleteOne(request: FhirRequest, session: Session, type: string, id: string): Promise<FhirResponse> {
  const visible = await session.store.read(type, id, session.access.readable(type));
  const current = visible ? await session.store.lock(type, id) : undefined;
  if (!current) throw await unseen(session, type, id);
  requireVersionMatch(ifMatchVersion(request), current.versionId, `${type}/${id}`);
  if (current.deleted) return { status: 204, headers: versionHeaders(session, current, false) };
  await session.access.checkWrite('delete', null, current, []);
  const stored = await session.store.writeNext(current, { resource: null, patientId: current.patientId, createdBy: submitterOf(session.caller), method: 'DELETE' });
  const headers = versionHeaders(session, stored, false);
  if (returnPreference(request) === 'OperationOutcome') return { status: 200, headers, body: informational(`deleted ${type}/${id}`) };
  return { status: 204, headers };
}
