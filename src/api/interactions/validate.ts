/**
 * `$validate` at type and instance level: the body is the resource or a
 * Parameters with a `resource` part; `profile` comes from the query string or
 * a Parameters part (valueUri or valueCanonical). Returns the OperationOutcome
 * (200, whatever the verdict) and never writes.
 */
import type { OperationOutcome, Parameters, Resource } from 'fhir/r4';
import { badRequest, notFound, toOperationOutcome } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { queryValue, type FhirRequest, type FhirResponse } from '../../kernel/request';
import { requireKnownType, requireValidId } from '../../kernel/resource-types';
import { requireResourceBody } from './write-input';

export async function validateInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id } = params;
  requireKnownType(type);
  if (id !== undefined) requireValidId(id);
  const profiles: string[] = [];
  const fromQuery = queryValue(request.query, 'profile');
  if (fromQuery) profiles.push(fromQuery);
  let resource: Resource | undefined;
  if (request.method === 'GET') {
    if (id === undefined) throw badRequest('GET $validate needs an instance: [type]/[id]/$validate');
    resource = await readForValidation(request, session, type, id);
  } else {
    resource = resourceFromBody(request.body, type, profiles);
    if (resource === undefined && id !== undefined) resource = await readForValidation(request, session, type, id);
    if (resource === undefined) throw badRequest('$validate needs a resource in the body (or a Parameters with a resource part)');
    requireResourceBody(resource, type);
    if (id !== undefined && resource.id !== undefined && resource.id !== id) throw badRequest(`the resource id "${resource.id}" differs from the URL id "${id}"`, 'id');
  }
  const issues = session.validator.validate(resource, { profiles: [...profiles, ...session.access.profilesFor(resource as Resource)] });
  const outcome: OperationOutcome =
    issues.length > 0 ? toOperationOutcome(issues) : toOperationOutcome([{ severity: 'information', code: 'informational', message: 'the resource is valid' }]);
  return { status: 200, body: outcome };
}

function resourceFromBody(body: unknown, type: string, profiles: string[]): Resource | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a FHIR resource or Parameters');
  const candidate = body as Resource;
  if (candidate.resourceType !== 'Parameters' || type === 'Parameters') return candidate;
  const parameters = candidate as Parameters;
  let resource: Resource | undefined;
  for (const part of parameters.parameter ?? []) {
    if (part.name === 'resource') resource = part.resource;
    else if (part.name === 'profile') {
      const value = part.valueUri ?? part.valueCanonical;
      if (!value) throw badRequest('the profile parameter needs valueUri or valueCanonical', 'Parameters.parameter.value');
      profiles.push(value);
    }
  }
  return resource;
}

async function readForValidation(request: FhirRequest, session: Session, type: string, id: string): Promise<Resource> {
  session.access.checkScope(type, 'r');
  const stored = await session.store.read(type, id, session.access.readable(type));
  if (!stored || stored.deleted || !stored.content) throw notFound(`${type}/${id} is not known`);
  return stored.content;
}
