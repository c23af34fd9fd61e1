/**
 * Compartment search (http.html#search, compartmentdefinition-patient):
 * `GET Patient/X/Type` and `GET Patient/X/*` are the search `Type?patient=X`
 * (or `Patient?_id=X`), through the one search interaction — so its scopes,
 * its space check (a practitioner who may not enter X's space: 403) and its
 * access predicates apply unchanged. Never a search path of its own.
 */
import type { Session } from '../../kernel/ports';
import type { FhirRequest, FhirResponse, QueryParams } from '../../kernel/request';
import { baseSearchParameters, patientCompartment } from '../../kernel/definitions';
import { requireKnownType, requireValidId } from '../../kernel/resource-types';
import { badRequest, FhirError } from '../../kernel/errors';
import { readsType } from '../../identity/scopes';
import { searchInteraction } from './search';

let withPatientParameter: string[] | undefined;

/**
 * Types of the Patient compartment searchable by `patient`. The `*` of `Patient/X/*` takes
 * them but AuditEvent: the activity history is the patient's own (audit/history.ts), asked for by name.
 */
function compartmentTypes(): string[] {
  if (!withPatientParameter) {
    const searchable = new Set(baseSearchParameters().filter((parameter) => parameter.code === 'patient').flatMap((parameter) => parameter.base));
    withPatientParameter = (patientCompartment().resource ?? []).filter((entry) => (entry.param?.length ?? 0) > 0 && searchable.has(entry.code)).map((entry) => entry.code);
  }
  return withPatientParameter;
}

function compartmentQuery(type: string, id: string, query: QueryParams): QueryParams {
  if (type === 'Patient') return [['_id', id], ...query];
  if (type !== '*' && !compartmentTypes().includes(type)) throw badRequest(`${type} is not searched by patient in the Patient compartment`);
  return [['patient', id], ...query];
}

export async function compartmentSearchInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { id, type } = params;
  requireValidId(id);
  if (type !== '*') requireKnownType(type);
  const query = compartmentQuery(type, id, request.query.filter(([key]) => key !== '_type' || type === '*'));
  if (type !== '*') return searchInteraction({ ...request, query }, session, type);
  if (query.some(([key]) => key === '_type')) return searchInteraction({ ...request, method: 'GET', query }, session);
  const readable = compartmentTypes().filter((t) => t !== 'AuditEvent' && readsType(session.caller, t));
  if (readable.length === 0) throw new FhirError(403, 'forbidden', 'the token reads no type of the Patient compartment');
  return searchInteraction({ ...request, method: 'GET', query: [['_type', readable.join(',')], ...query] }, session);
}
