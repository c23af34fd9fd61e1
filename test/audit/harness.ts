/**
 * The audit suites' few helpers on top of test/support/server.ts (the
 * production composition): requests through production's pipeline with a
 * Caller object (session → audit → route, as the HTTP adapter hands them
 * over), seeding through production's store, and the facts a practitioner
 * needs under production's rules — an active PractitionerRole (médecin,
 * TRE_G15 10; SAMU regulator when asked) and the patients' `authorize` or
 * `block` Consents (CONTRACT §3, §4.2).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, HumanName, PractitionerRole, Resource } from 'fhir/r4';
import type { Caller } from '../../src/kernel/caller';
import type { FhirResponse, Method, QueryParams } from '../../src/kernel/request';
import type { FhirError } from '../../src/kernel/errors';
import { parseScopes } from '../../src/identity/scopes';
import { CARNET_ROLE_SYSTEM, PROFESSION_SYSTEM, SAMU_REGULATOR_CODE } from '../../src/identity/resolve';
import { choice } from '../access/builders';
import { startTestServer, type TestServer } from '../support/server';

/** Callers whose resolution reads nothing (patients, representatives as given, system clients); practitioners: `Harness.practitioner`. */
export const callers = {
  patient: (patientId: string): Caller => ({ kind: 'patient', sub: `patient-${patientId}`, scopes: parseScopes('patient/*.*'), patientId }),
  representative: (relatedPersonId: string, patientId: string): Caller => ({ kind: 'related-person', sub: `rp-${relatedPersonId}`, scopes: parseScopes('patient/*.*'), relatedPersonId, patientId }),
  system: (clientId: string, scope = 'system/*.cruds'): Caller => ({ kind: 'system', sub: clientId, scopes: parseScopes(scope), clientId, operator: scope.includes('*.') }),
};

/** The system client every `seed` writes as: it created the seeded data, so it reads it. */
export const SEED_LAB = 'client:seed-lab';

export interface CallOptions {
  query?: QueryParams;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Harness {
  server: TestServer;
  /** One request through `carnet.pipeline.handle`; a refusal comes back as its error. */
  call: (caller: Caller, method: Method, path: string, options?: CallOptions) => Promise<FhirResponse | FhirError>;
  /** Written straight through production's store as `createdBy` (an id is given when it has none). */
  seed: <T extends Resource>(resource: T, createdBy?: string) => Promise<T & { id: string }>;
  /** Practitioner/id with an active médecin PractitionerRole (and a SAMU regulator one), resolved as the identity resolves a token. */
  practitioner: (id: string, options?: { samu?: boolean; name?: HumanName }) => Promise<Caller>;
  /** Patient X's `authorize` (or `block`) Consent naming Practitioner/id, as X writes it. */
  authorize: (patientId: string, practitionerId: string) => Promise<void>;
  block: (patientId: string, practitionerId: string) => Promise<void>;
  close: () => Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const server = await startTestServer(env);
  const call: Harness['call'] = async (caller, method, path, options = {}) => {
    try {
      return await server.carnet.pipeline.handle({ method, path, query: options.query ?? [], body: options.body, headers: options.headers ?? {} }, caller);
    } catch (error) {
      return error as FhirError;
    }
  };
  const seed = async <T extends Resource>(resource: T, createdBy = SEED_LAB) => {
    const stored = await server.put({ ...resource, id: resource.id ?? randomUUID() }, createdBy);
    return stored.content as T & { id: string };
  };
  const practitioner: Harness['practitioner'] = async (id, options = {}) => {
    await seed({ resourceType: 'Practitioner', id, ...(options.name ? { name: [options.name] } : {}) });
    const role = (suffix: string, coding: { system: string; code: string }): PractitionerRole => ({
      resourceType: 'PractitionerRole',
      id: `${id}-${suffix}`,
      active: true,
      practitioner: { reference: `Practitioner/${id}` },
      code: [{ coding: [coding] }],
    });
    await seed(role('medecin', { system: PROFESSION_SYSTEM, code: '10' }));
    if (options.samu) await seed(role('samu', { system: CARNET_ROLE_SYSTEM, code: SAMU_REGULATOR_CODE }));
    return server.callerOf({ sub: `prac-${id}`, fhirUser: `Practitioner/${id}`, scope: 'user/*.*' });
  };
  const consent = (kind: 'authorize' | 'block') => async (patientId: string, practitionerId: string) => {
    await seed(choice(kind, patientId, { actors: [`Practitioner/${practitionerId}`] }), `Patient/${patientId}`);
  };
  return { server, call, seed, practitioner, authorize: consent('authorize'), block: consent('block'), close: () => server.close() };
}

/** The rows of `audit_events` in insertion order (optionally of one patient). */
export async function storedEvents(harness: Harness, patientId?: string) {
  const { rows } = await harness.server.carnet.sql.query<{ patient_id: string; position: string; agent: string; content: AuditEvent }>(
    `SELECT patient_id, position, agent, content FROM audit_events ${patientId ? 'WHERE patient_id = ?' : ''} ORDER BY seq`,
    patientId ? [patientId] : [],
  );
  return rows;
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
