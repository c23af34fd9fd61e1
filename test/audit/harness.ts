/**
 * The audit test harness: a Carnet on its own database (test/support/server),
 * and next to it the audited route built from the audit modules directly, so
 * the audit is tested apart from the HTTP adapter.
 * Callers are built as objects (no tokens); practitioners pass through a
 * stand-in policy (anyone but Practitioner/blocked reads and writes), so the
 * audit tests need no authorizations; everyone else gets Carnet's rules.
 */
import type { Resource } from 'fhir/r4';
import { ConformanceCatalogue } from '../../src/conformance/catalogue';
import type { AccessPolicy, FhirContext } from '../../src/kernel/ports';
import { forbidden } from '../../src/kernel/errors';
import { FhirRouter } from '../../src/api/router';
import { buildRouter } from '../../src/api/routes';
import type { FhirRequest, FhirResponse, Method, QueryParams } from '../../src/kernel/request';
import { requireScope } from '../../src/access/scope-check';
import type { Caller } from '../../src/kernel/caller';
import { parseScopes } from '../../src/identity/scopes';
import { sqlPredicate } from '../../src/kernel/predicate';
import { audited, type RouteFn } from '../../src/audit/audited';
import { AuditLog } from '../../src/audit/audit-log';
import { addAuditRoutes } from '../../src/audit/history';
import { AuditTrail, type AuditTrailOptions } from '../../src/audit/trail';
import { startTestServer, type TestServer } from '../support/server';

export const callers = {
  patient: (patientId: string): Caller => ({ kind: 'patient', sub: `patient-${patientId}`, scopes: parseScopes('patient/*.*'), patientId }),
  representative: (relatedPersonId: string, patientId: string): Caller => ({ kind: 'related-person', sub: `rp-${relatedPersonId}`, scopes: parseScopes('patient/*.*'), relatedPersonId, patientId }),
  practitioner: (practitionerId: string, extra: { purposeOfUse?: string; breakGlassReason?: string } = {}): Caller =>
    ({ kind: 'practitioner', sub: `prac-${practitionerId}`, scopes: parseScopes('user/*.*'), practitionerId, roles: [], ...extra }) as Caller,
  system: (clientId: string, scope = 'system/*.cruds'): Caller => ({ kind: 'system', sub: clientId, scopes: parseScopes(scope), clientId, operator: scope.includes('*.') }),
};

/** Carnet's rules for everyone but practitioners, who get everything unless they are Practitioner/blocked. */
export function standInPolicy(ctx: FhirContext): AccessPolicy {
  const foundation = ctx.access;
  const isPractitioner = (caller: Caller) => caller.kind === 'practitioner';
  const isBlocked = (caller: Caller) => caller.kind === 'practitioner' && caller.practitionerId === 'blocked';
  return {
    readable: (caller, type) => (isPractitioner(caller) ? sqlPredicate(() => ({ sql: isBlocked(caller) ? 'FALSE' : 'TRUE', bindings: [] })) : foundation.readable(caller, type)),
    checkScope: (caller, type, interaction) => {
      if (!isPractitioner(caller)) return foundation.checkScope(caller, type, interaction);
      requireScope(caller, type, interaction);
      if (isBlocked(caller) && ctx.compartment.has(type)) throw forbidden('blocked by the patient');
    },
    checkPatientSpace: async (caller, patientId) => {
      if (isBlocked(caller)) throw forbidden('blocked by the patient');
      if (!isPractitioner(caller)) return foundation.checkPatientSpace(caller, patientId);
    },
    checkWrite: async (caller, kind, resource, current, patientIds) => {
      if (isBlocked(caller)) throw forbidden('blocked by the patient');
      if (!isPractitioner(caller)) return foundation.checkWrite(caller, kind, resource, current, patientIds);
    },
  };
}

export interface Harness {
  server: TestServer;
  ctx: FhirContext;
  trail: AuditTrail;
  log: AuditLog;
  /** The bare router (audit routes first, then the generic ones). */
  bare: RouteFn;
  /** The audited route: what the HTTP adapter and the bundle processor call once wired. */
  route: RouteFn;
  call: (caller: Caller, method: Method, path: string, options?: { query?: QueryParams; body?: unknown; headers?: Record<string, string> }) => Promise<FhirResponse | FhirError>;
  seed: <T extends Resource>(resource: T) => Promise<T & { id: string }>;
  close: () => Promise<void>;
}

type FhirError = import('../../src/kernel/errors').FhirError;

export async function startHarness(trailOptions: AuditTrailOptions = {}): Promise<Harness> {
  const server = await startTestServer();
  const ctx: FhirContext = { ...server.carnet.ctx };
  ctx.access = standInPolicy(server.carnet.ctx);
  const router = new FhirRouter();
  const log = new AuditLog(server.carnet.db);
  addAuditRoutes(router, log);
  const generic = buildRouter({ catalogue: new ConformanceCatalogue(), capabilityStatement: () => ({ resourceType: 'CapabilityStatement', status: 'active', date: '2026-11-26', kind: 'instance', fhirVersion: '4.0.1', format: ['json'] }) });
  const bare: RouteFn = async (request, c) => {
    try {
      return await router.route(request, c);
    } catch (error) {
      if ((error as { status?: number }).status === 404 && /no FHIR interaction/.test((error as Error).message)) return generic.route(request, c);
      throw error;
    }
  };
  const trail = new AuditTrail(server.carnet.db, trailOptions);
  const route = audited(bare, trail, { observer: 'http://carnet.test/fhir' });
  const call: Harness['call'] = async (caller, method, path, options = {}) => {
    const request: FhirRequest = { method, path, query: options.query ?? [], body: options.body, headers: options.headers ?? {}, caller };
    try {
      return await route(request, ctx);
    } catch (error) {
      return error as FhirError;
    }
  };
  const labCaller = callers.system('seed-lab', 'system/*.*');
  const seed = async <T extends Resource>(resource: T) => {
    const request: FhirRequest = { method: 'POST', path: resource.resourceType, query: [], body: resource, headers: {}, caller: labCaller };
    const response = await bare(request, ctx);
    return response.body as T & { id: string };
  };
  return { server, ctx, trail, log, bare, route, call, seed, close: async () => { await trail.close(); await server.close(); } };
}

/** The rows of `audit_events` in insertion order (optionally of one patient). */
export async function storedEvents(harness: Harness, patientId?: string) {
  const rows = await harness.server.carnet.db.raw<{ rows: { patient_id: string; position: string; agent: string; content: import('fhir/r4').AuditEvent }[] }>(
    `SELECT patient_id, position, agent, content FROM audit_events ${patientId ? 'WHERE patient_id = ?' : ''} ORDER BY seq`,
    patientId ? [patientId] : [],
  );
  return rows.rows;
}

export function patientResource(family: string, email?: string): Resource {
  return {
    resourceType: 'Patient',
    name: [{ family, given: ['Camille'] }],
    ...(email ? { telecom: [{ system: 'email', value: email }] } : {}),
  } as Resource;
}

export function observationFor(patientId: string, text = 'glycémie'): Resource {
  return { resourceType: 'Observation', status: 'final', code: { text }, subject: { reference: `Patient/${patientId}` } } as Resource;
}
