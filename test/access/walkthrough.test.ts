/**
 * The README walk-through, as a test (issue 4, "Done when"): Alice enrols,
 * authorizes her GP, blocks a physiotherapist, hides a document; a
 * pharmacist she authorized searches her documents; an emergency physician
 * she never authorized breaks the glass. Everything goes through the API:
 * the directory is PUT under its own ids, patient data is POSTed and gets
 * the server's ids (CONTRACT §2).
 */
import type { Bundle, Resource } from 'fhir/r4';
import { choice, documentReference, TREG15 } from './builders';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';

describe('walk-through: a patient decides who sees what', () => {
  let server: TestServer;
  let tokens: Record<string, string>;
  /** Alice's id and her documents', as the server assigned them. */
  let alice: string;
  let summary: string;
  let psyReport: string;
  const put = (token: string, resource: Resource) =>
    server.request.put(`/fhir/${resource.resourceType}/${resource.id}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(resource));
  /** POSTs patient data; answers the id the server gave it. */
  const post = async (token: string, resource: Resource): Promise<string> => {
    const { id: _ignored, ...body } = resource;
    const res = await server.request.post(`/fhir/${resource.resourceType}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
    expect(res.status).toBe(201);
    return res.body.id as string;
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
      gp: await server.practitionerToken('dr-martin'),
      physio: await server.practitionerToken('kine-durand'),
      pharmacist: await server.practitionerToken('pharma-leroy'),
      emergency: await server.practitionerToken('dr-urgences'),
    };
    // the directory feed: roles carry the profession (TRE_G15) the grid is keyed on
    for (const [id, practitioner, profession] of [['r-martin', 'dr-martin', '10'], ['r-durand', 'kine-durand', '70'], ['r-leroy', 'pharma-leroy', '21'], ['r-urg', 'dr-urgences', '10']]) {
      expect((await put(tokens.operator, role(id, practitioner, profession))).status).toBe(201);
    }
    alice = await post(tokens.operator, { resourceType: 'Patient', name: [{ family: 'Dupont', given: ['Alice'] }] } as Resource);
    tokens.alice = await server.patientToken(alice);
    // the hospital sends two documents: a discharge summary and a psychiatric report
    summary = await post(tokens.hospital, documentReference('summary', alice, { type: '34133-9' }));
    psyReport = await post(tokens.hospital, documentReference('psy-report', alice, { type: '68599-0' }));
  });
  afterAll(() => server.close());

  it('1. Alice authorizes her GP, who then reads her documents', async () => {
    expect((await get(tokens.gp, `DocumentReference?patient=${alice}`)).status).toBe(403); // not authorized yet
    await post(tokens.alice, choice('authorize', alice, { actors: ['Practitioner/dr-martin'] }));
    const res = await get(tokens.gp, `DocumentReference?patient=${alice}`);
    expect(res.status).toBe(200);
    expect((res.body as Bundle).total).toBe(2);
  });

  it('2. Alice blocks a physiotherapist: even authorized, even in break-glass, he gets 403', async () => {
    await post(tokens.alice, choice('authorize', alice, { actors: ['Practitioner/kine-durand'] }));
    await post(tokens.alice, choice('block', alice, { actors: ['Practitioner/kine-durand'] }));
    expect((await get(tokens.physio, `DocumentReference?patient=${alice}`)).status).toBe(403);
    expect((await get(tokens.physio, `Patient/${alice}`, { 'X-Purpose-Of-Use': 'BTG', 'X-Break-Glass-Reason': 'chute' })).status).toBe(403);
  });

  it('3. Alice hides the psychiatric report: her GP no longer sees it, she still does', async () => {
    await post(tokens.alice, choice('hide-document', alice, { documents: [psyReport] }));
    expect((await get(tokens.gp, `DocumentReference/${psyReport}`)).status).toBe(404);
    expect((await get(tokens.gp, `DocumentReference?patient=${alice}`)).body.total).toBe(1);
    expect((await get(tokens.alice, `DocumentReference/${psyReport}`)).status).toBe(200);
  });

  it('4. A pharmacist she authorized searches: only the types of the grid, never the hidden one', async () => {
    await post(tokens.alice, choice('authorize', alice, { actors: ['Practitioner/pharma-leroy'] }));
    const res = await get(tokens.pharmacist, `DocumentReference?patient=${alice}`);
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([summary]);
  });

  it('5. An emergency physician breaks the glass: 400 without a reason, then reads (but not the hidden report)', async () => {
    expect((await get(tokens.emergency, `DocumentReference?patient=${alice}`)).status).toBe(403);
    expect((await get(tokens.emergency, `DocumentReference?patient=${alice}`, { 'X-Purpose-Of-Use': 'BTG' })).status).toBe(400);
    const res = await get(tokens.emergency, `DocumentReference?patient=${alice}`, { 'X-Purpose-Of-Use': 'BTG', 'X-Break-Glass-Reason': 'patiente inconsciente aux urgences' });
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([summary]); // MASKED is off by default
  });
});
