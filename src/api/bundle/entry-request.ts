/**
 * Builds the FhirRequest of one Bundle entry, as if the caller had sent it
 * alone: same caller, the outer request's Prefer and purpose-of-use headers,
 * the entry's conditional headers, its resource as body, and `bundle`
 * naming the outer request. A PATCH entry carries either a Binary holding a JSON Patch or a
 * FHIRPath Patch Parameters. Never decides anything about the entry itself.
 */
import type { Binary, Resource } from 'fhir/r4';
import { badRequest } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import type { FhirRequest, FhirResponse, QueryParams } from '../../kernel/request';
import { entryPath, type EntryPlan } from './entries';

/** A POST entry of a transaction is created with the id the transaction assigned to it. */
export interface EntryRequest extends FhirRequest {
  assignedId?: string;
}

/** Outer headers every entry inherits: how to answer, and in which access mode. */
const INHERITED = ['prefer', 'x-purpose-of-use', 'x-break-glass-reason', 'x-request-id', 'user-agent', 'x-forwarded-for'];

const FHIR_JSON = 'application/fhir+json';

export function entryRequest(plan: EntryPlan, outer: FhirRequest, query: QueryParams = plan.query, assignedId?: string): EntryRequest {
  const headers: Record<string, string | undefined> = {};
  for (const name of INHERITED) if (outer.headers[name] !== undefined) headers[name] = outer.headers[name];
  Object.assign(headers, plan.headers);
  const request: EntryRequest = { method: plan.method, path: plan.path, query, headers, bundle: outer };
  if (plan.resource) {
    const { body, contentType } = plan.method === 'PATCH' ? patchBody(plan.resource, plan.index) : { body: plan.resource, contentType: FHIR_JSON };
    request.body = body;
    headers['content-type'] = contentType;
  }
  if (assignedId !== undefined) request.assignedId = assignedId;
  return request;
}

/** A Binary entry resource holds the patch document (JSON Patch) base64-encoded; anything else is sent as is. */
function patchBody(resource: Resource, index: number): { body: unknown; contentType: string } {
  if (resource.resourceType !== 'Binary') return { body: resource, contentType: FHIR_JSON };
  const binary = resource as Binary;
  const at = `${entryPath(index)}.resource`;
  const contentType = binary.contentType ?? 'application/json-patch+json';
  if (typeof binary.data !== 'string') throw badRequest(`${at}: a PATCH Binary needs data (the base64 patch document)`, `${at}.data`);
  try {
    return { body: JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8')) as unknown, contentType };
  } catch {
    throw badRequest(`${at}: the PATCH Binary's data is not base64-encoded JSON`, `${at}.data`);
  }
}

/** The router that answers each entry (FhirRouter.route). */
export type Route = (request: FhirRequest, session: Session) => Promise<FhirResponse>;
