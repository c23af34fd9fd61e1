/**
 * delete (logical: the row stays, marked deleted, and a later read is 410)
 * and conditional delete. Deleting a deleted resource succeeds again (204).
 */
import { FhirError, informational, notFound } from '../errors';
import type { FhirContext } from '../context';
import type { FhirRequest, FhirResponse } from '../request';
import { requireStoredType, requireValidId } from '../resource-types';
import { submitterOf } from '../../identity/caller';
import type { Knex } from 'knex';
import { returnPreference, versionHeaders } from './responses';
import { ifMatchVersion, lockCriteria, requireVersionMatch } from './write-input';
import { requireQuery } from './write';

export async function deleteInteraction(request: FhirRequest, ctx: FhirContext, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id } = params;
  requireStoredType(type, 'delete');
  requireValidId(id);
  ctx.access.checkScope(request.caller, type, 'd');
  return ctx.store.transaction((trx) => deleteOne(request, ctx, type, id, trx));
}

export async function conditionalDeleteInteraction(request: FhirRequest, ctx: FhirContext, params: Record<string, string>): Promise<FhirResponse> {
  const { type } = params;
  requireStoredType(type, 'delete');
  ctx.access.checkScope(request.caller, type, 'd');
  const criteria = requireQuery(request.query);
  return ctx.store.transaction(async (trx) => {
    await lockCriteria(trx, type, criteria);
    const matches = await ctx.search.match(type, criteria, ctx.access.readable(request.caller, type), 2, trx);
    if (matches.length > 1) throw new FhirError(412, 'multiple-matches', `the criteria match ${matches.length} ${type} resources`);
    if (matches.length === 0) return { status: 204 };
    return deleteOne(request, ctx, type, matches[0].id, trx);
  });
}

async function deleteOne(request: FhirRequest, ctx: FhirContext, type: string, id: string, trx: Knex.Transaction): Promise<FhirResponse> {
  const visible = await ctx.store.read(type, id, ctx.access.readable(request.caller, type), trx);
  const current = visible ? await ctx.store.lock(trx, type, id) : undefined;
  if (!current) throw notFound(`${type}/${id} is not known`);
  requireVersionMatch(ifMatchVersion(request), current.versionId, `${type}/${id}`);
  if (current.deleted) return { status: 204, headers: versionHeaders(ctx, current, false) };
  await ctx.access.checkWrite(request.caller, 'delete', null, current, []);
  const stored = await ctx.store.writeNext(trx, current, { resource: null, patientId: current.patientId, createdBy: submitterOf(request.caller), method: 'DELETE' });
  const headers = versionHeaders(ctx, stored, false);
  if (returnPreference(request) === 'OperationOutcome') return { status: 200, headers, body: informational(`deleted ${type}/${id}`) };
  return { status: 204, headers };
}
