/**
 * CONTRACT §4 over HTTP: the cast of scenario.ts set up through the API
 * (directory and patients by an operator, documents by a laboratory and by
 * practitioners, choices by the patients), then the same visibility table as
 * contract.test.ts on read, search and history, the spaces a request may
 * name (403), the purpose-of-use headers (400) and a few writes, on the
 * server as src/server.ts composes it (audit included).
 */
import type { AuditEvent, Resource } from 'fhir/r4';
import type supertest from 'supertest';
import { scenarioWrites, spaceCases, visibilityCases, cast } from './scenario';
import { choice, documentReference, system } from './builders';
import { isPatientData } from '../../src/access/vocabulary';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';
import { documentNames } from '../../src/audit/names';

/** Written through the store: the rules would (rightly) refuse these submitters over HTTP. */
const THROUGH_STORE = new Set(['Immunization/x-imm', 'Consent/x-plain-consent']);

/** A scenario AuditEvent (an administrator's earlier read) goes to the activity history, as the server records it. */
async function recordAudit(server: TestServer, event: AuditEvent): Promise<void> {
  const patientId = (event.entity?.[0]?.what?.reference ?? '').replace(/^Patient\//, '');
  const agent = event.agent[0]?.who?.reference as string;
  await server.carnet.audit.trail.record([{ patientId, event, columns: { agent, action: 'R', subtype: 'read', outcome: Number(event.outcome), purpose: 'TREAT', names: documentNames(event) } }]);
}

describe('CONTRACT §4 over HTTP', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();

  async function tokenFor(who: string): Promise<string> {
    const name = who.split(':')[0];
    if (!tokens.has(name)) {
      let token: string;
      if (name in cast) token = await server.practitionerToken(name);
      else if (name === 'rm') token = await server.token({ fhirUser: 'RelatedPerson/rm', scope: 'patient/*.*' });
      else if (name === 'lab' || name === 'op') token = await server.systemToken(name, 'system/*.*');
      else if (name === 'other') token = await server.systemToken('other', 'system/*.read');
      else token = await server.patientToken(name);
      tokens.set(name, token);
    }
    return tokens.get(name) as string;
  }

  async function as(who: string, req: supertest.Test): Promise<supertest.Response> {
    const [, mode] = who.split(':');
    req.set('Authorization', `Bearer ${await tokenFor(who)}`);
    if (mode) req.set('X-Purpose-Of-Use', mode);
    if (mode === 'BTG') req.set('X-Break-Glass-Reason', 'arrêt cardiaque');
    return req;
  }
  const submitterName = (by: string) => (by.startsWith('client:') ? by.slice('client:'.length) : by.split('/')[1]);

  beforeAll(async () => {
    server = await startTestServer();
    const { compartment } = server.session(system('seed'));
    for (const [resource, by] of scenarioWrites()) {
      const key = `${resource.resourceType}/${resource.id}`;
      if (resource.resourceType === 'AuditEvent') {
        await recordAudit(server, resource as AuditEvent);
        continue;
      }
      if (THROUGH_STORE.has(key) || isPatientData(resource.resourceType, (type) => compartment.has(type))) {
        await server.put(resource, by); // patient data takes no client id over the API (CONTRACT §2): seeded under the scenario's ids
        continue;
      }
      const res = await as(submitterName(by), server.request.put(`/fhir/${key}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(resource)));
      if (res.status !== 201) throw new Error(`setting up ${key} as ${by}: ${res.status} ${JSON.stringify(res.body).slice(0, 400)}`);
    }
  });
  afterAll(() => server.close());

  const isPractitioner = (who: string) => who.split(':')[0] in cast;
  /** kine is blocked by px (the scenario's x-block-kine): 403 for any row of px named by id (§4.3 step 1). */
  const blockedFrom = (who: string, key: string) => {
    const row = scenarioWrites().find(([resource]) => `${resource.resourceType}/${resource.id}` === key)?.[0];
    return who.split(':')[0] === 'kine' && row !== undefined && server.session(system('seed')).compartment.patientsOf(row)[0] === 'px';
  };

  it.each(visibilityCases)('%s: %s visible=%s on read, search and history', async (who, key, visible) => {
    const [type, id] = key.split('/');
    const namesSpace = type === 'Patient' && who !== 'lab' && who !== 'other';
    const hidden = (namesSpace && isPractitioner(who)) || blockedFrom(who, key) ? 403 : 404;
    const read = await as(who, server.request.get(`/fhir/${key}`));
    const history = await as(who, server.request.get(`/fhir/${key}/_history`));
    const search = await as(who, server.request.get(`/fhir/${type}?_id=${id}&_total=accurate`));
    expect(read.status).toBe(visible ? 200 : hidden);
    expect(history.status).toBe(visible ? 200 : hidden);
    if (visible) expect(history.body.entry.length).toBeGreaterThan(0);
    const auditSearch = type === 'AuditEvent' && (isPractitioner(who) || who === 'lab' || who === 'other'); // X's activity history is X's
    if ((namesSpace && !visible) || auditSearch) expect(search.status).toBe(403);
    else {
      expect(search.status).toBe(200);
      expect(search.body.total).toBe(visible ? 1 : 0);
    }
  });

  it('the whole table read at once answers as each read alone (concurrent reads of one caller share a statement)', async () => {
    const unknown = visibilityCases.filter(([, key]) => !key.startsWith('Patient/')).map(([who, key]) => [who, `${key.split('/')[0]}/x-none-such`, false] as const);
    const cases = [...visibilityCases, ...visibilityCases, ...unknown]; // each read twice: the same id twice in one turn
    const answers = await Promise.all(cases.map(([who, key]) => as(who, server.request.get(`/fhir/${key}`))));
    cases.forEach(([who, key, visible], i) => {
      const namesSpace = key.startsWith('Patient/') && who !== 'lab' && who !== 'other';
      const hidden = (namesSpace && isPractitioner(who)) || blockedFrom(who, key) ? 403 : 404;
      expect([who, key, answers[i].status]).toEqual([who, key, visible ? 200 : hidden]);
      if (visible) expect(`${answers[i].body.resourceType}/${answers[i].body.id}`).toBe(key);
      else expect(answers[i].body.resourceType).toBe('OperationOutcome');
    });
  });

  it.each(spaceCases)('%s: GET DocumentReference?patient=%s → %i', async (who, patientId, status) => {
    const res = await as(who, server.request.get(`/fhir/DocumentReference?patient=${patientId}`));
    expect(res.status).toBe(status);
  });

  it.each([
    ['ETREAT', undefined, 200],
    ['TREAT', undefined, 200],
    ['BTG', 'patient inconscient', 200],
    ['BTG', undefined, 400],
    ['BTG', '   ', 400],
    ['RESEARCH', undefined, 400],
  ])('X-Purpose-Of-Use %s, reason %j → %i', async (mode, reason, status) => {
    const req = server.request.get('/fhir/Organization').set('Authorization', `Bearer ${await tokenFor('gp')}`).set('X-Purpose-Of-Use', mode);
    if (reason !== undefined) req.set('X-Break-Glass-Reason', reason);
    expect((await req).status).toBe(status);
  });

  it('a blocked practitioner gets 403 on $everything; an authorized one gets no hidden document', async () => {
    expect((await as('kine', server.request.get('/fhir/Patient/px/$everything'))).status).toBe(403);
    const res = await as('gp', server.request.get('/fhir/Patient/px/$everything?_count=1000'));
    expect(res.status).toBe(200);
    const keys = (res.body.entry as Array<{ resource: Resource }>).map((e) => `${e.resource.resourceType}/${e.resource.id}`);
    expect(keys).toContain('DocumentReference/x-cr');
    for (const hidden of ['DocumentReference/x-masque', 'DocumentReference/x-hidden', 'DocumentReference/x-attest', 'Binary/x-masque-bin', 'AuditEvent/x-audit', 'Consent/x-auth-gp']) expect(keys).not.toContain(hidden);
  });

  it('a practitioner searching AuditEvents gets 403; the patient reads their activity history', async () => {
    expect((await as('gp', server.request.get('/fhir/AuditEvent?patient=px'))).status).toBe(403);
    const own = await as('px', server.request.get('/fhir/AuditEvent?patient=px&_count=1000'));
    expect(own.status).toBe(200);
    const events = (own.body.entry as Array<{ resource: AuditEvent }>).map((e) => e.resource);
    expect(events.map((e) => e.id)).toContain('x-audit');
    expect(events.every((e) => e.entity?.[0]?.what?.reference === 'Patient/px')).toBe(true);
  });

  it.each([
    ['a choice of the wrong shape', 'px', () => ({ ...choice('hide-all', 'px', { id: 'bad-shape' }), dateTime: undefined }), 422, 'Consent.dateTime'],
    ['an AuditEvent written by a client', 'lab', () => ({ resourceType: 'AuditEvent', id: 'ae1', type: { code: 'rest' }, recorded: '2026-01-01T00:00:00Z', agent: [{ requestor: true }], source: { observer: { display: 'x' } } }), 405, undefined],
    ['a document whose author is not the submitter', 'stranger', () => documentReference('h-doc1', 'px', { authors: ['Practitioner/gp'] }), 422, 'DocumentReference.author[0]'],
    ['a document from a blocked practitioner', 'kine', () => documentReference('h-doc2', 'px'), 403, undefined],
    ['a document from a practitioner without authorization', 'stranger', () => documentReference('h-doc3', 'px', { authors: ['Practitioner/stranger'] }), 201, undefined],
    ['a block by a practitioner who is not the administrator', 'gp', () => choice('block', 'px', { id: 'h-block', actors: ['Practitioner/pharma'], performer: 'Practitioner/gp' }), 403, undefined],
  ])('%s → %i', async (_what, who, build, status, expression) => {
    const resource = build() as Resource;
    const { id: _serverAssigned, ...body } = resource;
    const res = await as(who, server.request.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body)));
    expect(res.status).toBe(status);
    if (expression) expect(res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? [])).toContain(expression);
  });
});
