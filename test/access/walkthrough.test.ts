/**
 * The README walk-through, as a test (issue 4, "Done when"): Alice enrols,
 * authorizes her GP, blocks a physiotherapist, hides a document; a
 * pharmacist she authorized searches her documents; an emergency physician
 * she never authorized breaks the glass. Everything goes through the API.
 */
import type { Bundle, Resource } from 'fhir/r4';
import { choice, documentReference, TREG15 } from './builders';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';

describe('walk-through: a patient decides who sees what', () => {
  let server: TestServer;
  let tokens: Record<string, string>;
  const put = (token: string, resource: Resource, headers: Record<string, string> = {}) => {
    const req = server.request.put(`/fhir/${resource.resourceType}/${resource.id}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON);
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    return req.send(JSON.stringify(resource));
  };
  const get = (token: string, url: string, headers: Record<string, string> = {}) => {
    const req = server.request.get(`/fhir/${url}`).set('Authorization', `Bearer ${token}`);
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    return req;
  };
  const role = (id: string, practitioner: string, profession: string) =>
    ({ resourceType: 'PractitionerRole', id, active: true, practitioner: { reference: `Practitioner/${practitioner}` }, code: [{ coding: [{ system: TREG15, code: profession }] }] }) as Resource;

  beforeAll(async () => {
    server = await startTestServer();
    tokens = {
      operator: await server.systemToken('directory', 'system/*.*'),
      hospital: await server.systemToken('hospital', 'system/DocumentReference.cruds system/Binary.cruds'),
      alice: await server.patientToken('alice'),
      gp: await server.practitionerToken('dr-martin'),
      physio: await server.practitionerToken('kine-durand'),
      pharmacist: await server.practitionerToken('pharma-leroy'),
      emergency: await server.practitionerToken('dr-urgences'),
    };
    // the directory feed: roles carry the profession (TRE_G15) the grid is keyed on
    for (const [id, practitioner, profession] of [['r-martin', 'dr-martin', '10'], ['r-durand', 'kine-durand', '70'], ['r-leroy', 'pharma-leroy', '21'], ['r-urg', 'dr-urgences', '10']]) {
      expect((await put(tokens.operator, role(id, practitioner, profession))).status).toBe(201);
    }
    expect((await put(tokens.operator, { resourceType: 'Patient', id: 'alice', name: [{ family: 'Dupont', given: ['Alice'] }] } as Resource)).status).toBe(201);
    // the hospital sends two documents: a discharge summary and a psychiatric report
    expect((await put(tokens.hospital, documentReference('summary', 'alice', { type: '34133-9' }))).status).toBe(201);
    expect((await put(tokens.hospital, documentReference('psy-report', 'alice', { type: '68599-0' }))).status).toBe(201);
  });
  afterAll(() => server.close());

  it('1. Alice authorizes her GP, who then reads her documents', async () => {
    expect((await get(tokens.gp, 'DocumentReference?patient=alice')).status).toBe(403); // not authorized yet
    expect((await put(tokens.alice, choice('authorize', 'alice', { id: 'auth-martin', actors: ['Practitioner/dr-martin'] }))).status).toBe(201);
    const res = await get(tokens.gp, 'DocumentReference?patient=alice');
    expect(res.status).toBe(200);
    expect((res.body as Bundle).total).toBe(2);
  });

  it('2. Alice blocks a physiotherapist: even authorized, even in break-glass, he gets 403', async () => {
    expect((await put(tokens.alice, choice('authorize', 'alice', { id: 'auth-durand', actors: ['Practitioner/kine-durand'] }))).status).toBe(201);
    expect((await put(tokens.alice, choice('block', 'alice', { id: 'block-durand', actors: ['Practitioner/kine-durand'] }))).status).toBe(201);
    expect((await get(tokens.physio, 'DocumentReference?patient=alice')).status).toBe(403);
    expect((await get(tokens.physio, 'Patient/alice', { 'X-Purpose-Of-Use': 'BTG', 'X-Break-Glass-Reason': 'chute' })).status).toBe(403);
  });

  it('3. Alice hides the psychiatric report: her GP no longer sees it, she still does', async () => {
    expect((await put(tokens.alice, choice('hide-document', 'alice', { id: 'hide-psy', documents: ['psy-report'] }))).status).toBe(201);
    expect((await get(tokens.gp, 'DocumentReference/psy-report')).status).toBe(404);
    expect((await get(tokens.gp, 'DocumentReference?patient=alice')).body.total).toBe(1);
    expect((await get(tokens.alice, 'DocumentReference/psy-report')).status).toBe(200);
  });

  it('4. A pharmacist she authorized searches: only the types of the grid, never the hidden one', async () => {
    expect((await put(tokens.alice, choice('authorize', 'alice', { id: 'auth-leroy', actors: ['Practitioner/pharma-leroy'] }))).status).toBe(201);
    const res = await get(tokens.pharmacist, 'DocumentReference?patient=alice');
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual(['summary']);
  });

  it('5. An emergency physician breaks the glass: 400 without a reason, then reads (but not the hidden report)', async () => {
    expect((await get(tokens.emergency, 'DocumentReference?patient=alice')).status).toBe(403);
    expect((await get(tokens.emergency, 'DocumentReference?patient=alice', { 'X-Purpose-Of-Use': 'BTG' })).status).toBe(400);
    const res = await get(tokens.emergency, 'DocumentReference?patient=alice', { 'X-Purpose-Of-Use': 'BTG', 'X-Break-Glass-Reason': 'patiente inconsciente aux urgences' });
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual(['summary']); // MASKED is off by default
  });
});
