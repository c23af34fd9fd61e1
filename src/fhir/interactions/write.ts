/**
 * create, update (with create-on-update for client ids) and their conditional
 * forms. Every version is assigned under a row lock and every conditional
 * operation under an advisory lock on its criteria, so concurrent writers
 * never lose an update and conditional creates never duplicate.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from 'fhir/r4';
import type { Knex } from 'knex';
import { badRequest, FhirError, notFound } from '../errors';
import type { FhirContext } from '../context';
import { header, type FhirRequest, type FhirResponse, type QueryParams } from '../request';
import { requireStoredType, requireValidId } from '../resource-types';
import { submitterOf } from '../../identity/caller';
import { versionHeaders, writeResponse } from './responses';
import { ifMatchVersion, lockCriteria, parseCriteria, prepareResource, requireResourceBody, requireVersionMatch } from './write-input';

export async function createInteraction(request: FhirRequest, ctx: FhirContext, params: Record<string, string>): Promise<FhirResponse> {
  const { type } = params;
  requireStoredType(type, 'create');
  ctx.access.checkScope(request.caller, type, 'c');
  const body = requireResourceBody(request.body, type);
  const { resource, patientIds } = prepareResource(ctx, body, request.assignedId ?? randomUUID());
  await ctx.access.checkWrite(request.caller, 'create', resource, undefined, patientIds);
  const ifNoneExist = header(request, 'if-none-exist');
  const criteria = ifNoneExist ? parseCriteria(ifNoneExist) : undefined;
  const outcome = await ctx.store.transaction(async (trx) => {
    if (criteria) {
      await lockCriteria(trx, type, criteria);
      const existing = await ctx.search.match(type, criteria, ctx.access.readable(request.caller, type), 2, trx);
      if (existing.length > 1) throw new FhirError(412, 'duplicate', `If-None-Exist matches ${existing.length} ${type} resources`);
      if (existing.length === 1) return { stored: existing[0], created: false };
    }
    const stored = await ctx.store.insert(trx, { resource, patientId: patientIds[0] ?? null, createdBy: submitterOf(request.caller), method: 'POST', generatedId: true });
    if (!stored) throw new FhirError(409, 'conflict', `${type}/${resource.id} already exists`);
    return { stored, created: true };
  });
  if (!outcome.created) {
    return { status: 200, headers: versionHeaders(ctx, outcome.stored, true), body: outcome.stored.content as Resource };
  }
  return writeResponse(request, ctx, outcome.stored, 201, `created ${type}/${outcome.stored.id}`);
}

export async function updateInteraction(request: FhirRequest, ctx: FhirContext, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id } = params;
  requireStoredType(type, 'update');
  requireValidId(id);
  const body = requireResourceBody(request.body, type);
  if (body.id === undefined) throw badRequest('the resource has no id; PUT needs it equal to the URL id', 'id');
  if (body.id !== id) throw badRequest(`the resource id "${String(body.id).slice(0, 64)}" differs from the URL id "${id}"`, 'id');
  return putResource(request, ctx, type, id, body);
}

/** PUT [type]?criteria: update the single match, create when none, 412 when several. */
export async function conditionalUpdateInteraction(request: FhirRequest, ctx: FhirContext, params: Record<string, string>): Promise<FhirResponse> {
  const { type } = params;
  requireStoredType(type, 'update');
  const criteria = requireQuery(request.query);
  const body = requireResourceBody(request.body, type);
  if (body.id !== undefined) requireValidId(String(body.id));
  return ctx.store.transaction(async (trx) => {
    await lockCriteria(trx, type, criteria);
    const matches = await ctx.search.match(type, criteria, ctx.access.readable(request.caller, type), 2, trx);
    if (matches.length > 1) throw new FhirError(412, 'multiple-matches', `the criteria match ${matches.length} ${type} resources`);
    const id = matches[0]?.id ?? (body.id as string | undefined) ?? randomUUID();
    if (matches[0] && body.id !== undefined && body.id !== matches[0].id) {
      throw badRequest(`the resource id "${String(body.id)}" differs from the matching ${type}/${matches[0].id}`, 'id');
    }
    return putResource(request, ctx, type, id, body, trx);
  });
}

async function putResource(request: FhirRequest, ctx: FhirContext, type: string, id: string, body: Resource, outer?: Knex.Transaction): Promise<FhirResponse> {
  ctx.access.checkScope(request.caller, type, 'u');
  const expected = ifMatchVersion(request);
  const { resource, patientIds } = prepareResource(ctx, body, id);
  const work = async (trx: Knex.Transaction) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await ctx.store.lock(trx, type, id);
      if (current && !(await ctx.store.read(type, id, ctx.access.readable(request.caller, type), trx))) throw notFound(`${type}/${id} is not known`);
      requireVersionMatch(expected, current?.versionId, `${type}/${id}`);
      const input = { resource, patientId: patientIds[0] ?? null, createdBy: submitterOf(request.caller), method: 'PUT' as const };
      if (current && !current.deleted) {
        await ctx.access.checkWrite(request.caller, 'update', resource, current, patientIds);
        return { stored: await ctx.store.writeNext(trx, current, input), created: false };
      }
      ctx.access.checkScope(request.caller, type, 'c');
      await ctx.access.checkWrite(request.caller, 'create', resource, current, patientIds);
      if (current) return { stored: await ctx.store.writeNext(trx, current, input), created: true };
      const inserted = await ctx.store.insert(trx, input);
      if (inserted) return { stored: inserted, created: true };
      // a concurrent create-on-update took the id first: lock it and update it
    }
    throw new FhirError(409, 'conflict', `${type}/${id} is being written concurrently; retry`);
  };
  const { stored, created } = outer ? await work(outer) : await ctx.store.transaction(work);
  return writeResponse(request, ctx, stored, created ? 201 : 200, `${created ? 'created' : 'updated'} ${type}/${id}`);
}

export function requireQuery(query: QueryParams): QueryParams {
  const criteria = query.filter(([key]) => key !== '_format');
  if (criteria.length === 0) throw badRequest('a conditional operation needs search criteria in the URL');
  return criteria;
}

