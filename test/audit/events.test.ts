/**
 * CONTRACT §6: every request about X's data by anyone other than X stores an
 * AuditEvent (BALP shape) before the answer — a table of interaction × caller
 * → the expected fields, denied attempts and multi-patient searches included.
 * Requests go through production's pipeline under production's rules: p1 is
 * a médecin (and SAMU regulator) both patients authorized, `blocked` one both
 * blocked, p2 a médecin nobody authorized.
 */
import type { AuditEvent, Resource } from 'fhir/r4';
import knex from 'knex';
import { FhirError } from '../../src/kernel/errors';
import type { Caller } from '../../src/kernel/caller';
import type { Method, QueryParams } from '../../src/kernel/request';
import { AuditStage, AUDIT_UNAVAILABLE } from '../../src/audit/audited';
import { AuditTrail } from '../../src/audit/trail';
import { PoolExecutor } from '../../src/store/executor';
import { knexConfig } from '../../src/store/db';
import { choice } from '../access/builders';
import { callers, observationFor, patientResource, startHarness, storedEvents, SEED_LAB, type Harness } from './harness';

let h: Harness;
let alice: string;
let bob: string;
let aliceObs: string;
let bobObs: string;
/** Recorded by p1: a practitioner updates or deletes only what he recorded (write-rules). */
let p1AliceObs: string;
let p1BobObs: string;
let pratique: Caller;
let blocked: Caller;
let stranger: Caller;

beforeAll(async () => {
  h = await startHarness();
  alice = (await h.seed(patientResource('Alice'))).id;
  bob = (await h.seed(patientResource('Bob'))).id;
  aliceObs = (await h.seed(observationFor(alice))).id;
  bobObs = (await h.seed(observationFor(bob))).id;
  pratique = await h.practitioner('p1', { samu: true });
  blocked = await h.practitioner('blocked');
  stranger = await h.practitioner('p2');
  for (const patient of [alice, bob]) {
    await h.authorize(patient, 'p1');
    await h.block(patient, 'blocked');
  }
  p1AliceObs = (await h.seed(observationFor(alice), 'Practitioner/p1')).id;
  p1BobObs = (await h.seed(observationFor(bob), 'Practitioner/p1')).id;
});
afterAll(() => h.close());

interface Expected {
  status: number;
  /** Patients with one AuditEvent each, in any order; [] = nothing audited. */
  patients: () => string[];
  subtype?: string;
  action?: AuditEvent['action'];
  outcome?: '0' | '4' | '8';
  agent?: () => { reference?: string; identifier?: string };
  purpose?: string | null;
  reason?: string;
  entity?: () => string[];
  query?: string;
}

interface Case {
  caller: () => Caller;
  method: Method;
  path: () => string;
  query?: () => QueryParams;
  body?: () => unknown;
  headers?: Record<string, string>;
}

const obs = (patient: () => string, text = 'poids') => () => observationFor(patient(), text);
const practitioner = () => ({ reference: 'Practitioner/p1' });

const cases: [string, Case, Expected][] = [
  ['practitioner reads an Observation', { caller: () => pratique, method: 'GET', path: () => `Observation/${aliceObs}` },
    { status: 200, patients: () => [alice], subtype: 'read', action: 'R', outcome: '0', agent: practitioner, purpose: 'TREAT', entity: () => [`Patient/${alice}`, `Observation/${aliceObs}/_history/1`] }],
  ['practitioner vreads', { caller: () => pratique, method: 'GET', path: () => `Observation/${aliceObs}/_history/1` },
    { status: 200, patients: () => [alice], subtype: 'vread', action: 'R', outcome: '0', purpose: 'TREAT' }],
  ['practitioner reads the Patient', { caller: () => pratique, method: 'GET', path: () => `Patient/${alice}` },
    { status: 200, patients: () => [alice], subtype: 'read', action: 'R', outcome: '0', entity: () => [`Patient/${alice}`, `Patient/${alice}/_history/1`] }],
  ['practitioner reads the instance history', { caller: () => pratique, method: 'GET', path: () => `Observation/${aliceObs}/_history` },
    { status: 200, patients: () => [alice], subtype: 'history-instance', action: 'R', outcome: '0' }],
  ['practitioner searches one patient', { caller: () => pratique, method: 'GET', path: () => 'Observation', query: () => [['patient', `Patient/${alice}`]] },
    { status: 200, patients: () => [alice], subtype: 'search-type', action: 'E', outcome: '0', query: 'Observation?patient=Patient%2F' }],
  ['practitioner searches several patients: one AuditEvent each', { caller: () => pratique, method: 'GET', path: () => 'Observation', query: () => [['_id', `${aliceObs},${bobObs}`]] },
    { status: 200, patients: () => [alice, bob], subtype: 'search-type', action: 'E', outcome: '0' }],
  ['practitioner creates', { caller: () => pratique, method: 'POST', path: () => 'Observation', body: obs(() => alice) },
    { status: 201, patients: () => [alice], subtype: 'create', action: 'C', outcome: '0', purpose: 'TREAT' }],
  ['practitioner creates with Prefer: return=minimal', { caller: () => pratique, method: 'POST', path: () => 'Observation', body: obs(() => bob), headers: { prefer: 'return=minimal' } },
    { status: 201, patients: () => [bob], subtype: 'create', action: 'C', outcome: '0' }],
  ['practitioner updates', { caller: () => pratique, method: 'PUT', path: () => `Observation/${p1AliceObs}`, body: () => ({ ...observationFor(alice, 'poids'), id: p1AliceObs }) },
    { status: 200, patients: () => [alice], subtype: 'update', action: 'U', outcome: '0', entity: () => [`Patient/${alice}`, `Observation/${p1AliceObs}/_history/2`] }], // what was written, not the version checked
  ['practitioner patches', { caller: () => pratique, method: 'PATCH', path: () => `Observation/${p1AliceObs}`, body: () => [{ op: 'replace', path: '/status', value: 'amended' }], headers: { 'content-type': 'application/json-patch+json' } },
    { status: 200, patients: () => [alice], subtype: 'patch', action: 'U', outcome: '0' }],
  // CONTRACT §4.3 step 1: a practitioner X blocked gets 403 for anything about X
  ['blocked practitioner reads: denied, outcome 4', { caller: () => blocked, method: 'GET', path: () => `Observation/${aliceObs}` },
    { status: 403, patients: () => [alice], subtype: 'read', action: 'R', outcome: '4', agent: () => ({ reference: 'Practitioner/blocked' }), entity: () => [`Patient/${alice}`, `Observation/${aliceObs}`] }],
  ['blocked practitioner searches a patient: denied', { caller: () => blocked, method: 'GET', path: () => 'Observation', query: () => [['subject', alice]] },
    { status: 403, patients: () => [alice], subtype: 'search-type', action: 'E', outcome: '4' }],
  ['blocked practitioner writes: denied', { caller: () => blocked, method: 'POST', path: () => 'Observation', body: obs(() => bob) },
    { status: 403, patients: () => [bob], subtype: 'create', action: 'C', outcome: '4' }],
  // CONTRACT §2: a PUT of patient data to an id the caller cannot see (a free one included) is 404
  ['blocked practitioner writes a new id: denied, naming the resource attempted', { caller: () => blocked, method: 'PUT', path: () => 'Observation/never-stored', body: () => ({ ...observationFor(bob), id: 'never-stored' }) },
    { status: 404, patients: () => [bob], subtype: 'update', action: 'U', outcome: '4', entity: () => [`Patient/${bob}`, 'Observation/never-stored'] }],
  ['an unknown X-Purpose-Of-Use: 400, audited about the resource\'s patient', { caller: () => pratique, method: 'GET', path: () => `Observation/${aliceObs}`, headers: { 'x-purpose-of-use': 'RESEARCH' } },
    { status: 400, patients: () => [alice], subtype: 'read', action: 'R', outcome: '4', entity: () => [`Patient/${alice}`, `Observation/${aliceObs}`] }],
  ['a create in break-glass without a reason: 400, audited about the body\'s patient', { caller: () => pratique, method: 'POST', path: () => 'Observation', body: obs(() => bob), headers: { 'x-purpose-of-use': 'BTG' } },
    { status: 400, patients: () => [bob], subtype: 'create', action: 'C', outcome: '4', entity: () => [`Patient/${bob}`] }],
  ['SAMU regulator (header ETREAT)', { caller: () => pratique, method: 'GET', path: () => `Observation/${aliceObs}`, headers: { 'x-purpose-of-use': 'ETREAT' } },
    { status: 200, patients: () => [alice], outcome: '0', purpose: 'ETREAT' }],
  ['break-glass (header BTG + reason)', { caller: () => pratique, method: 'GET', path: () => `Patient/${alice}`, headers: { 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': 'patient inconscient aux urgences' } },
    { status: 200, patients: () => [alice], outcome: '0', purpose: 'BTG', reason: 'patient inconscient aux urgences' }],
  ['break-glass by a practitioner the patient never authorized', { caller: () => stranger, method: 'GET', path: () => `Patient/${bob}`, headers: { 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': 'arrêt cardiaque' } },
    { status: 200, patients: () => [bob], subtype: 'read', outcome: '0', agent: () => ({ reference: 'Practitioner/p2' }), purpose: 'BTG', reason: 'arrêt cardiaque' }],
  ['a practitioner the patient never authorized reads the Patient (TREAT): 403, audited', { caller: () => stranger, method: 'GET', path: () => `Patient/${alice}` },
    { status: 403, patients: () => [alice], subtype: 'read', action: 'R', outcome: '4', purpose: 'TREAT', entity: () => [`Patient/${alice}`] }],
  ['blocked practitioner reads the Patient: 403, audited', { caller: () => blocked, method: 'GET', path: () => `Patient/${alice}` },
    { status: 403, patients: () => [alice], subtype: 'read', outcome: '4', agent: () => ({ reference: 'Practitioner/blocked' }) }],
  ['legal representative reads', { caller: () => callers.representative('r1', alice), method: 'GET', path: () => `Observation/${aliceObs}` },
    { status: 200, patients: () => [alice], subtype: 'read', outcome: '0', agent: () => ({ reference: 'RelatedPerson/r1' }), purpose: null }],
  ['patient X on X\'s own data: not audited', { caller: () => callers.patient(alice), method: 'GET', path: () => `Observation/${aliceObs}` },
    { status: 200, patients: () => [] }],
  ['patient X searching X\'s own data: not audited', { caller: () => callers.patient(alice), method: 'GET', path: () => 'Observation', query: () => [['patient', alice]] },
    { status: 200, patients: () => [] }],
  ['patient X reaching another patient: audited for that patient', { caller: () => callers.patient(alice), method: 'GET', path: () => `Observation/${bobObs}` },
    { status: 404, patients: () => [bob], subtype: 'read', outcome: '4', agent: () => ({ reference: `Patient/${alice}` }), purpose: null }],
  ['creating system client reads', { caller: () => callers.system(SEED_LAB.slice('client:'.length), 'system/*.*'), method: 'GET', path: () => `Observation/${bobObs}` },
    { status: 200, patients: () => [bob], subtype: 'read', outcome: '0', agent: () => ({ identifier: 'seed-lab' }), purpose: null }],
  ['another system client: 404, audited as denied', { caller: () => callers.system('lab-b', 'system/Observation.rs'), method: 'GET', path: () => `Observation/${bobObs}` },
    { status: 404, patients: () => [bob], subtype: 'read', outcome: '4', agent: () => ({ identifier: 'lab-b' }) }],
  ['practitioner searches X\'s activity history: 403, audited', { caller: () => pratique, method: 'GET', path: () => 'AuditEvent', query: () => [['patient', `Patient/${alice}`]] },
    { status: 403, patients: () => [alice], subtype: 'search-type', action: 'E', outcome: '4' }],
  ['a resource nobody has: nothing to audit', { caller: () => pratique, method: 'GET', path: () => 'Observation/nope' },
    { status: 404, patients: () => [] }],
  // CONTRACT §4.3 step 5: a space P was not authorized to enter is 403 in TREAT, whether or not it exists
  ['a patient nobody has: nothing to audit (no chain for probes)', { caller: () => pratique, method: 'GET', path: () => 'Patient/nobody' },
    { status: 403, patients: () => [] }],
  ['a search naming a patient nobody has: nothing to audit', { caller: () => pratique, method: 'GET', path: () => 'Observation', query: () => [['patient', 'Patient/nobody']] },
    { status: 403, patients: () => [] }],
  ['a patient nobody has, read by the operator: 404, nothing to audit', { caller: () => callers.system('ops', 'system/*.*'), method: 'GET', path: () => 'Patient/nobody' },
    { status: 404, patients: () => [] }],
  ['practitioner deletes', { caller: () => pratique, method: 'DELETE', path: () => `Observation/${p1BobObs}` },
    { status: 204, patients: () => [bob], subtype: 'delete', action: 'D', outcome: '0', entity: () => [`Patient/${bob}`, `Observation/${p1BobObs}`] }],
  ['practitioner deletes what another recorded: 403, audited', { caller: () => pratique, method: 'DELETE', path: () => `Observation/${bobObs}` },
    { status: 403, patients: () => [bob], subtype: 'delete', action: 'D', outcome: '4', entity: () => [`Patient/${bob}`, `Observation/${bobObs}`] }],
];

function statusOf(result: Awaited<ReturnType<Harness['call']>>): number {
  return result instanceof FhirError ? result.status : result.status;
}

describe('interaction × caller → AuditEvent', () => {
  it.each(cases)('%s', async (_name, c, expected) => {
    const before = (await storedEvents(h)).length;
    const result = await h.call(c.caller(), c.method, c.path(), { query: c.query?.(), body: c.body?.(), headers: c.headers });
    expect(statusOf(result)).toBe(expected.status);
    const events = (await storedEvents(h)).slice(before);
    expect(events.map((e) => e.patient_id).sort()).toEqual(expected.patients().sort());
    for (const { content: event, patient_id } of events) {
      expect(event.type).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' });
      expect(event.source.observer.display).toBe('Carnet');
      expect(event.agent).toHaveLength(1);
      expect(event.agent[0].requestor).toBe(true);
      expect(event.entity?.[0].what?.reference).toBe(`Patient/${patient_id}`);
      expect(Date.parse(event.recorded)).not.toBeNaN();
      if (expected.subtype) expect(event.subtype).toEqual([{ system: 'http://hl7.org/fhir/restful-interaction', code: expected.subtype }]);
      if (expected.action) expect(event.action).toBe(expected.action);
      if (expected.outcome) expect(event.outcome).toBe(expected.outcome);
      if (expected.agent) {
        const agent = expected.agent();
        if (agent.reference) expect(event.agent[0].who?.reference).toBe(agent.reference);
        if (agent.identifier) expect(event.agent[0].who?.identifier?.value).toBe(agent.identifier);
      }
      if (expected.purpose === null) expect(event.agent[0].purposeOfUse).toBeUndefined();
      else if (expected.purpose) expect(event.agent[0].purposeOfUse?.[0].coding?.[0]).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: expected.purpose });
      if (expected.reason) expect(event.agent[0].purposeOfUse?.[0].text).toBe(expected.reason);
      if (expected.entity) expect(event.entity?.map((e) => e.what?.reference).filter(Boolean)).toEqual(expected.entity());
      if (expected.query) {
        const query = event.entity?.find((e) => e.role?.code === '24')?.query;
        expect(Buffer.from(query ?? '', 'base64').toString()).toContain(expected.query);
      }
    }
  });
});

describe('what each AuditEvent names', () => {
  it('a multi-patient search names in each patient\'s event only that patient\'s resources', async () => {
    const before = (await storedEvents(h)).length;
    await h.call(pratique, 'GET', 'Observation', { query: [['_id', `${aliceObs},${bobObs}`]] });
    const events = (await storedEvents(h)).slice(before);
    const forAlice = events.find((e) => e.patient_id === alice)?.content as AuditEvent;
    const references = forAlice.entity?.map((e) => e.what?.reference).filter(Boolean) ?? [];
    expect(references.some((r) => r?.startsWith(`Observation/${aliceObs}`))).toBe(true);
    expect(references.some((r) => r?.startsWith(`Observation/${bobObs}`))).toBe(false);
  });

  it('a server error is outcome 8, and the error still reaches the caller', async () => {
    // production's audit stage and route, with a route that fails after reading Patient/alice
    const stage = new AuditStage(h.server.carnet.audit.trail, { observer: 'http://carnet.test/fhir' });
    const before = (await storedEvents(h)).length;
    const request = { method: 'GET' as const, path: `Patient/${alice}`, query: [], headers: {} };
    const failing = await stage
      .request(request, h.server.session(pratique), async (req, session) => {
        await h.server.carnet.pipeline.route(req, session);
        throw new Error('boom');
      })
      .catch((error: unknown) => error);
    expect((failing as Error).message).toBe('boom');
    const events = (await storedEvents(h)).slice(before);
    expect(events.map((e) => [e.patient_id, e.content.outcome, e.content.outcomeDesc])).toEqual([[alice, '8', 'HTTP 500']]);
    // the patient, and the resource touched, unversioned: nothing was answered
    expect(events[0].content.entity?.map((e) => e.what?.reference)).toEqual([`Patient/${alice}`, `Patient/${alice}`]);
  });

  it('a Bundle is not audited as such: with no entry touching a patient, no AuditEvent', async () => {
    const before = (await storedEvents(h)).length;
    const bundle = { resourceType: 'Bundle', type: 'batch', entry: [] } as Resource;
    await h.call(pratique, 'POST', '', { body: bundle });
    expect((await storedEvents(h)).slice(before)).toHaveLength(0);
  });

  it('when the AuditEvent cannot be stored the request fails with 503, never answered unaudited', async () => {
    const nowhere = knex({ ...knexConfig('postgres://carnet:wrong@127.0.0.1:1/none', 1), log: { error: () => {}, warn: () => {} } });
    const brokenTrail = new AuditTrail(new PoolExecutor(nowhere));
    const broken = new AuditStage(brokenTrail, { observer: 'http://carnet.test/fhir' });
    const request = { method: 'GET' as const, path: `Observation/${aliceObs}`, query: [], headers: {} };
    const error = await broken.request(request, h.server.session(pratique), h.server.carnet.pipeline.route).catch((e: unknown) => e);
    await brokenTrail.close();
    await nowhere.destroy();
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(503);
    expect((error as FhirError).message).toBe(AUDIT_UNAVAILABLE);
  });
});

describe('"P has accessed X\'s space" (the administrator precondition of §4.2) is read from the audit', () => {
  it.each([
    ['p1 read Alice\'s data successfully', 'p1', 201],
    ['blocked only had denied attempts', 'blocked', 422],
    ['p9 never came', 'p9', 422],
  ])('%s (Practitioner/%s): Alice names him administrator → %i', async (_name, practitionerId, status) => {
    const { id: _assigned, ...administrator } = choice('administrator', alice, { actors: [`Practitioner/${practitionerId}`] });
    const result = await h.call(callers.patient(alice), 'POST', 'Consent', { body: administrator });
    expect(result.status).toBe(status);
  });
});
