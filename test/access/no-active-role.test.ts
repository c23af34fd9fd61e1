/**
 * CONTRACT §3: a practitioner with no active PractitionerRole (none at all,
 * one with `active: false`, one whose period ended) reaches nothing of any
 * patient — no grid right, no health profile, not even what they authored or
 * take part in, no self-attested `authorize` — while the directory stays
 * readable. Each row is asked of a practitioner with an active role (the
 * same data and choices) and of each practitioner without one.
 */
import type { Bundle, Resource } from 'fhir/r4';
import { appointment, choice, communication, documentReference, immunization, observation, patientResource, TREG15 } from './builders';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';

const role = (practitioner: string, extra: Record<string, unknown> = {}): Resource =>
  ({ resourceType: 'PractitionerRole', id: `${practitioner}-role`, practitioner: { reference: `Practitioner/${practitioner}` }, code: [{ coding: [{ system: TREG15, code: '10' }] }], ...extra }) as Resource;

/** The practitioner with a role, and those without an active one. */
const WITH_ROLE = 'gp';
const WITHOUT: Array<[string, Resource | undefined]> = [
  ['norole', undefined],
  ['offrole', role('offrole', { active: false })],
  ['pastrole', role('pastrole', { period: { start: '2020-01-01', end: '2021-01-01' } })],
];

type Ask = (server: TestServer, token: string, p: string) => Promise<{ status: number; total?: number }>;
const get = (url: (p: string) => string): Ask => async (server, token, p) => {
  const res = await server.request.get(`/fhir/${url(p)}`).set('Authorization', `Bearer ${token}`);
  return { status: res.status, total: (res.body as Bundle).total };
};
const post = (type: string, body: (p: string) => Resource): Ask => async (server, token, p) => {
  const res = await server.request.post(`/fhir/${type}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body(p)));
  return { status: res.status };
};
const withoutId = (resource: Resource): Resource => ({ ...resource, id: undefined }) as Resource;

/** [what is asked, how, answer with an active role, answer without]. */
const ROWS: Array<[string, Ask, { status: number; total?: number }, { status: number; total?: number }]> = [
  ['read Patient/X', get(() => 'Patient/px'), { status: 200 }, { status: 403 }],
  ['search naming X', get(() => 'Observation?patient=px'), { status: 200, total: 1 }, { status: 403 }],
  ['$everything of X', get(() => 'Patient/px/$everything'), { status: 200 }, { status: 403 }],
  ['read the health profile', get(() => 'Observation/x-obs'), { status: 200 }, { status: 404 }],
  ['search naming no patient', get(() => 'Observation?_total=accurate'), { status: 200, total: 1 }, { status: 200, total: 0 }],
  ['read a document under the grid', get(() => 'DocumentReference/x-doc'), { status: 200 }, { status: 404 }],
  ['read a document P authored', get((p) => `DocumentReference/doc-by-${p}`), { status: 200 }, { status: 404 }],
  ['read an Immunization P performed', get((p) => `Immunization/imm-by-${p}`), { status: 200 }, { status: 404 }],
  ['read an Appointment P is in', get((p) => `Appointment/appt-${p}`), { status: 200 }, { status: 404 }],
  ['read a Communication P sent', get((p) => `Communication/comm-${p}`), { status: 200 }, { status: 404 }],
  ['read a Consent P performed', get((p) => `Consent/consent-by-${p}`), { status: 200 }, { status: 404 }],
  ['search Consents P performed', get((p) => `Consent?_id=consent-by-${p}&_total=accurate`), { status: 200, total: 1 }, { status: 200, total: 0 }],
  ['self-attested authorize', post('Consent', (p) => withoutId(choice('authorize', 'pz', { actors: [`Practitioner/${p}`], performer: `Practitioner/${p}` }))), { status: 201 }, { status: 403 }],
  ['submit a document for X', post('DocumentReference', (p) => withoutId(documentReference('new', 'pz', { authors: [`Practitioner/${p}`] }))), { status: 201 }, { status: 403 }],
  ['read the directory', get((p) => `Practitioner/${p}`), { status: 200 }, { status: 200 }],
  ['search the directory', get(() => 'Organization?_total=accurate'), { status: 200, total: 1 }, { status: 200, total: 1 }],
];

describe('a practitioner with no active PractitionerRole reaches nothing of any patient', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    const op = 'client:op';
    const lab = 'client:lab';
    await server.put({ resourceType: 'Organization', id: 'clinic', name: 'Clinique' } as Resource, op);
    for (const id of ['px', 'pz']) await server.put(patientResource(id), op);
    await server.put(observation('x-obs', 'px'), lab);
    await server.put(documentReference('x-doc', 'px', { type: '11488-4' }), lab);
    const practitioners: Array<[string, Resource | undefined]> = [[WITH_ROLE, role(WITH_ROLE)], ...WITHOUT];
    for (const [p, pRole] of practitioners) {
      await server.put({ resourceType: 'Practitioner', id: p, name: [{ family: p }] } as Resource, op);
      if (pRole) await server.put(pRole, op);
      await server.put(choice('authorize', 'px', { id: `auth-${p}`, actors: [`Practitioner/${p}`] }), 'Patient/px');
      await server.put(documentReference(`doc-by-${p}`, 'px', { type: 'ZZZ-LOCAL', authors: [`Practitioner/${p}`] }), `Practitioner/${p}`);
      await server.put(immunization(`imm-by-${p}`, 'px', `Practitioner/${p}`), `Practitioner/${p}`);
      await server.put(appointment(`appt-${p}`, 'px', [`Practitioner/${p}`]), lab);
      await server.put(communication(`comm-${p}`, 'px', `Practitioner/${p}`), `Practitioner/${p}`);
      await server.put({ resourceType: 'Consent', id: `consent-by-${p}`, status: 'active', scope: { text: 'research' }, category: [{ text: 'research' }], patient: { reference: 'Patient/px' }, performer: [{ reference: `Practitioner/${p}` }] } as Resource, `Practitioner/${p}`);
    }
  });
  afterAll(() => server.close());

  const cases = ROWS.flatMap(([what, ask, withRole, without]) => [
    [WITH_ROLE, what, ask, withRole] as const,
    ...WITHOUT.map(([p]) => [p, what, ask, without] as const),
  ]);

  it.each(cases)('%s: %s', async (p, _what, ask, expected) => {
    const answer = await ask(server, await server.practitionerToken(p), p);
    expect(answer.status).toBe(expected.status);
    if (expected.total !== undefined) expect(answer.total).toBe(expected.total);
  });

  it.each(WITHOUT.map(([p]) => [p]))('%s: system history holds the directory and nothing about a patient', async (p) => {
    const res = await server.request.get('/fhir/_history?_count=1000').set('Authorization', `Bearer ${await server.practitionerToken(p)}`);
    const types = [...new Set(((res.body as Bundle).entry ?? []).map((entry) => entry.resource?.resourceType))].sort();
    expect(types).toEqual(['Organization', 'Practitioner', 'PractitionerRole']);
  });
});
