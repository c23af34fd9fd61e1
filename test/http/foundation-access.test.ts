/**
 * The foundation's access rules (CONTRACT §3, issue 2): scopes cap everything;
 * a patient reaches only their compartment; a system client reads patient data
 * only where it created it; practitioners get 403 on patient data for now.
 */
import { get, send, startTestServer, type TestServer } from '../support/server';

describe('foundation access rules', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let alice: string;
  let bob: string;
  let aliceObs: string;
  let bobObs: string;
  let org: string;

  beforeAll(async () => {
    server = await startTestServer();
    tokens.labA = await server.systemToken('lab-a', 'system/*.cruds');
    tokens.labB = await server.systemToken('lab-b', 'system/Observation.rs system/Patient.rs');
    tokens.readOnly = await server.systemToken('reader', 'system/*.read');
    alice = (await send(server, 'post', 'Patient', tokens.labA, { resourceType: 'Patient', name: [{ family: 'Alice' }] })).body.id;
    bob = (await send(server, 'post', 'Patient', tokens.labA, { resourceType: 'Patient', name: [{ family: 'Bob' }] })).body.id;
    const obs = (subject: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'glycémie' }, subject: { reference: `Patient/${subject}` } });
    aliceObs = (await send(server, 'post', 'Observation', tokens.labA, obs(alice))).body.id;
    bobObs = (await send(server, 'post', 'Observation', tokens.labA, obs(bob))).body.id;
    org = (await send(server, 'post', 'Organization', tokens.labA, { resourceType: 'Organization', name: 'Labo' })).body.id;
    tokens.alice = await server.patientToken(alice);
    tokens.aliceReadOnly = await server.patientToken(alice, 'patient/*.read');
    tokens.practitioner = await server.practitionerToken('p1');
  });
  afterAll(() => server.close());

  it.each([
    ['patient reads own Patient', 'alice', () => `Patient/${alice}`, 200],
    ['patient reads own Observation', 'alice', () => `Observation/${aliceObs}`, 200],
    ['patient reads another patient', 'alice', () => `Patient/${bob}`, 404],
    ['patient reads another patient\'s Observation', 'alice', () => `Observation/${bobObs}`, 404],
    ['patient reads the directory', 'alice', () => `Organization/${org}`, 200],
    ['creating client reads its patient data', 'labA', () => `Observation/${bobObs}`, 200],
    ['other client cannot read patient data it did not create', 'labB', () => `Observation/${aliceObs}`, 404],
    ['client without the type in its scopes', 'labB', () => `Organization/${org}`, 403],
    ['practitioner on patient data, without an authorization', 'practitioner', () => `Observation/${aliceObs}`, 404],
    ['practitioner reads the directory', 'practitioner', () => `Organization/${org}`, 200],
  ])('%s → %i', async (_name, who, url, status) => {
    const res = await get(server, url(), tokens[who]);
    expect(res.status).toBe(status);
  });

  it.each([
    ['patient adds an Observation about themself', 'alice', () => ({ resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${alice}` } }), 201],
    ['patient adds an Observation about someone else', 'alice', () => ({ resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${bob}` } }), 403],
    ['patient writes the directory', 'alice', () => ({ resourceType: 'Organization', name: 'Mine' }), 403],
    ['patient with read-only scopes writes', 'aliceReadOnly', () => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${alice}` } }), 403],
    ['read-only client writes', 'readOnly', () => ({ resourceType: 'Organization', name: 'Nope' }), 403],
    ['practitioner writes patient data', 'practitioner', () => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${alice}` } }), 403],
  ])('%s → %i', async (_name, who, body, status) => {
    const resource = body();
    const res = await send(server, 'post', resource.resourceType, tokens[who], resource);
    expect(res.status).toBe(status);
  });

  it('a client cannot update or delete what another client created', async () => {
    const labC = await server.systemToken('lab-c', 'system/*.cruds');
    const res = await send(server, 'put', `Observation/${aliceObs}`, labC, { resourceType: 'Observation', id: aliceObs, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${alice}` } });
    expect(res.status).toBe(404);
    const del = await server.request.delete(`/fhir/Observation/${aliceObs}`).set('Authorization', `Bearer ${labC}`);
    expect(del.status).toBe(404);
  });

  it('history only shows versions the caller may read', async () => {
    const res = await get(server, 'Observation/_history', tokens.alice);
    const ids = res.body.entry.map((e: { resource: { id: string } }) => e.resource.id);
    expect(ids).toContain(aliceObs);
    expect(ids).not.toContain(bobObs);
  });
});
