/**
 * Which patients a request touched, and which of their resources: from the
 * response (each resource's Patient compartment; a write's stored resource
 * even when `Prefer: return=minimal` leaves the body out) and, for refused or bodiless
 * answers, from the request itself (Patient/X paths, `patient`/`subject`
 * parameters, the body of a write, the stored row of the target `Type/id`).
 * Owns that determination only; never filters by who asked (audited.ts does).
 */
import type { Bundle, Resource } from 'fhir/r4';
import type { FhirContext } from '../fhir/context';
import type { FhirRequest, FhirResponse, QueryParams } from '../fhir/request';

/** Patient id → references of that patient's resources the request touched. */
export type Touched = Map<string, string[]>;

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const PATIENT_REFERENCE = /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/;
const LOCATION = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})\/_history\/([^/]+)$/;
/** Resources that are containers or outcomes, or the history itself: not the patient's data as such. */
const NOT_DATA = new Set(['OperationOutcome', 'Parameters', 'AuditEvent', 'Bundle']);

function add(touched: Touched, patientId: string, reference?: string): void {
  let references = touched.get(patientId);
  if (!references) touched.set(patientId, (references = []));
  if (reference && !references.includes(reference)) references.push(reference);
}

function referenceOf(resource: Resource): string | undefined {
  if (!resource.id) return undefined;
  const version = resource.meta?.versionId;
  return `${resource.resourceType}/${resource.id}${version ? `/_history/${version}` : ''}`;
}

function fromResource(ctx: FhirContext, resource: Resource, touched: Touched): void {
  if (NOT_DATA.has(resource.resourceType)) return;
  const reference = referenceOf(resource);
  for (const patientId of ctx.compartment.patientsOf(resource)) add(touched, patientId, reference);
}

function isResource(value: unknown): value is Resource {
  return typeof value === 'object' && value !== null && typeof (value as { resourceType?: unknown }).resourceType === 'string';
}

/** Patients of the resources in a response body: every entry of a Bundle, or the resource itself. */
function fromBody(ctx: FhirContext, body: Resource | undefined, touched: Touched): void {
  if (!body) return;
  if (body.resourceType !== 'Bundle') return fromResource(ctx, body, touched);
  for (const entry of (body as Bundle).entry ?? []) if (entry.resource) fromResource(ctx, entry.resource, touched);
}

/** `patient=X`, `patient=Patient/X`, `subject=…`, `_id=X` on Patient, OR-lists included. */
function fromQuery(type: string | undefined, query: QueryParams, touched: Touched): void {
  for (const [name, value] of query) {
    const [base, modifier] = name.split(':', 2);
    const named = base === 'patient' || base === 'subject' || (type === 'Patient' && base === '_id');
    if (!named || (modifier !== undefined && modifier !== 'Patient')) continue;
    for (const item of value.split(',')) {
      const patientId = PATIENT_REFERENCE.exec(item)?.[1] ?? (ID.test(item) ? item : undefined);
      if (patientId) add(touched, patientId);
    }
  }
}

function searchParameters(request: FhirRequest): QueryParams {
  if (typeof request.body !== 'string') return request.query;
  try {
    return [...request.query, ...new URLSearchParams(request.body)];
  } catch {
    return request.query;
  }
}

/** The stored row's owner: the direct lookup for refused reads, deletes and `Prefer: return=minimal`. */
async function storedPatient(ctx: FhirContext, type: string, id: string): Promise<string | null> {
  const result = await ctx.store.db.raw<{ rows: { patient_id: string | null }[] }>('SELECT patient_id FROM resources WHERE resource_type = ? AND id = ?', [type, id]);
  return result.rows[0]?.patient_id ?? null;
}

async function fromStored(ctx: FhirContext, type: string, id: string, reference: string, touched: Touched, named: Touched): Promise<void> {
  if (type === 'Patient') return add(named, id, reference);
  const patientId = await storedPatient(ctx, type, id);
  if (patientId) add(touched, patientId, reference);
}

/** Patients named by the request count only if they exist: a probe of Patient/anything starts no chain. */
async function keepExisting(ctx: FhirContext, named: Touched, touched: Touched): Promise<void> {
  const unknown = [...named.keys()].filter((patientId) => !touched.has(patientId));
  const existing = new Set(
    unknown.length === 0
      ? []
      : (await ctx.store.db.raw<{ rows: { id: string }[] }>(`SELECT id FROM resources WHERE resource_type = 'Patient' AND id = ANY(?)`, [unknown])).rows.map((row) => row.id),
  );
  for (const [patientId, references] of named) {
    if (!touched.has(patientId) && !existing.has(patientId)) continue;
    add(touched, patientId);
    for (const reference of references) add(touched, patientId, reference);
  }
}

export async function touchedPatients(request: FhirRequest, ctx: FhirContext, response: FhirResponse | undefined, status: number): Promise<Touched> {
  const touched: Touched = new Map(); // from stored data: the response, the stored row
  const named: Touched = new Map(); // named by the request: kept if the patient exists
  const segments = request.path === '' ? [] : request.path.split('/');
  const [type, id] = segments;
  const succeeded = status < 400 && response !== undefined;
  if (succeeded) fromBody(ctx, response.written ?? response.body, touched);
  if (type === 'Patient' && id && ID.test(id)) add(named, id);
  fromQuery(type, searchParameters(request), named);
  const answeredWithData = succeeded && (response.written !== undefined || (response.body !== undefined && !NOT_DATA.has(response.body.resourceType)));
  if (!answeredWithData) {
    const writesBody = request.method === 'POST' || request.method === 'PUT';
    if (writesBody && isResource(request.body) && request.body.resourceType !== 'Bundle' && !segments.some((s) => s.startsWith('$'))) {
      fromResource(ctx, request.body, named);
    }
    const location = succeeded ? LOCATION.exec(response.headers?.Location ?? '') : null;
    if (location) await fromStored(ctx, location[1], location[2], `${location[1]}/${location[2]}/_history/${location[3]}`, touched, named);
    else if (type && id && ID.test(id) && !type.startsWith('_') && type !== 'AuditEvent') await fromStored(ctx, type, id, `${type}/${id}`, touched, named);
  }
  await keepExisting(ctx, named, touched);
  return touched;
}
