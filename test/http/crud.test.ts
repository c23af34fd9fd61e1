/** REST interactions of CONTRACT §2: versions, headers, history, conditional operations, patch, delete. */
import { get, send, startTestServer, BASE, type TestServer } from '../support/server';

/** A NIR of its own for each Patient built: one Patient per NIR (CONTRACT §3). */
let nirs = 0;
const patient = (family: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Marie'] }],
  identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: `2800575${String(++nirs).padStart(6, '0')}` }],
  ...extra,
});

describe('REST interactions', () => {
  let server: TestServer;
  let op: string;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('hospital-a');
  });
  afterAll(() => server.close());

  it('create assigns id, version 1, ETag, Last-Modified and a versioned Location', async () => {
    const res = await send(server, 'post', 'Patient', op, { ...patient('Durand'), id: 'client-chosen', meta: { versionId: '99' } });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(res.body.id).not.toBe('client-chosen');
    expect(res.body.meta.versionId).toBe('1');
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['last-modified']).toBe(new Date(res.body.meta.lastUpdated).toUTCString());
    expect(res.headers.location).toBe(`${BASE}/fhir/Patient/${res.body.id}/_history/1`);
  });

  it('read, update, vread, history and delete follow the versions', async () => {
    const created = await send(server, 'post', 'Patient', op, patient('Martin'));
    const id = created.body.id as string;
    const updated = await send(server, 'put', `Patient/${id}`, op, { ...patient('Martin'), id, gender: 'female' });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.headers.location).toBe(`${BASE}/fhir/Patient/${id}/_history/2`);

    const read = await get(server, `Patient/${id}`, op);
    expect(read.status).toBe(200);
    expect(read.body.gender).toBe('female');
    expect(read.headers.etag).toBe('W/"2"');

    const v1 = await get(server, `Patient/${id}/_history/1`, op);
    expect(v1.status).toBe(200);
    expect(v1.body.gender).toBeUndefined();

    const deleted = await server.request.delete(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${op}`);
    expect(deleted.status).toBe(204);
    expect((await get(server, `Patient/${id}`, op)).status).toBe(410);
    expect((await get(server, `Patient/${id}/_history/3`, op)).status).toBe(410);
    expect((await get(server, `Patient/${id}/_history/2`, op)).status).toBe(200);

    const history = await get(server, `Patient/${id}/_history`, op);
    expect(history.body.type).toBe('history');
    expect(history.body.entry.map((e: { request: { method: string } }) => e.request.method)).toEqual(['DELETE', 'PUT', 'POST']);
    expect(history.body.entry[0].resource).toBeUndefined();
    expect(history.body.entry[1].resource.meta.versionId).toBe('2');
  });

  it('PUT with a client id creates a directory resource (201), then updates it (200); patient data takes no client id (404)', async () => {
    const organization = { resourceType: 'Organization', id: 'my-own-id', name: 'Clinique Petit' };
    const first = await send(server, 'put', 'Organization/my-own-id', op, organization);
    expect(first.status).toBe(201);
    const second = await send(server, 'put', 'Organization/my-own-id', op, { ...organization, active: true });
    expect(second.status).toBe(200);
    expect(second.body.meta.versionId).toBe('2');
    expect((await send(server, 'put', 'Patient/my-own-id', op, { ...patient('Petit'), id: 'my-own-id' })).status).toBe(404);
  });

  it.each([
    ['W/"1"', 200],
    ['W/"7"', 412],
    ['"1"', 200],
  ])('If-Match %s on version 1 → %i', async (ifMatch, status) => {
    const created = await send(server, 'post', 'Patient', op, patient('Roux'));
    const res = await send(server, 'put', `Patient/${created.body.id}`, op, { ...patient('Roux'), id: created.body.id }).set('If-Match', ifMatch);
    expect(res.status).toBe(status);
    if (status === 412) expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['return=minimal', (body: Record<string, unknown>) => expect(body).toEqual({})],
    ['return=representation', (body: Record<string, unknown>) => expect(body.resourceType).toBe('Patient')],
    ['return=OperationOutcome', (body: Record<string, unknown>) => expect(body.resourceType).toBe('OperationOutcome')],
  ])('Prefer: %s shapes the create response', async (prefer, check) => {
    const res = await send(server, 'post', 'Patient', op, patient('Blanc')).set('Prefer', prefer);
    expect(res.status).toBe(201);
    expect(res.headers.location).toMatch(/_history\/1$/);
    check(res.body);
  });

  it('JSON Patch updates a resource and keeps it valid', async () => {
    const created = await send(server, 'post', 'Patient', op, patient('Moreau'));
    const id = created.body.id;
    const patch = (ops: unknown) =>
      server.request.patch(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${op}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify(ops));
    const ok = await patch([{ op: 'add', path: '/birthDate', value: '1980-02-03' }]);
    expect(ok.status).toBe(200);
    expect(ok.body.birthDate).toBe('1980-02-03');
    expect(ok.body.meta.versionId).toBe('2');
    expect((await patch([{ op: 'test', path: '/gender', value: 'male' }])).status).toBe(422);
    expect((await patch([{ op: 'replace', path: '/birthDate', value: 'not a date' }])).status).toBe(422);
    expect((await patch([{ op: 'replace', path: '/id', value: 'other' }])).status).toBe(422);
    expect((await patch({ op: 'add' })).status).toBe(400);
    expect((await patch([{ op: 'jump', path: '/x' }])).status).toBe(400);
  });

  it('type and system history list versions newest first with paging', async () => {
    // other tests of this file write Organizations too: the history is read from this test's start
    const start = encodeURIComponent(new Date(Date.now() - 1).toISOString());
    for (let i = 0; i < 3; i++) await send(server, 'post', 'Organization', op, { resourceType: 'Organization', name: `Clinique ${i}` });
    const page1 = await get(server, `Organization/_history?_count=2&_since=${start}`, op);
    expect(page1.status).toBe(200);
    expect(page1.body.entry).toHaveLength(2);
    const next = page1.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
    expect(next.startsWith(`${BASE}/fhir/Organization/_history?`)).toBe(true);
    await send(server, 'post', 'Organization', op, { resourceType: 'Organization', name: 'Clinique arrivée entre deux pages' });
    const page2 = await get(server, next.slice(`${BASE}/fhir/`.length), op);
    const names = [...page1.body.entry, ...page2.body.entry].map((e: { resource: { name: string } }) => e.resource.name);
    expect(names).toEqual(['Clinique 2', 'Clinique 1', 'Clinique 0']);
    const system = await get(server, '_history?_count=1000', op);
    expect(system.body.entry.length).toBeGreaterThanOrEqual(4);
    const since = await get(server, `Organization/_history?_since=${encodeURIComponent(new Date(Date.now() + 60000).toISOString())}`, op);
    expect(since.body.entry).toHaveLength(0);
    expect((await get(server, 'Organization/_history?_since=yesterday', op)).status).toBe(400);
  });

  it('conditional create returns the existing match instead of duplicating', async () => {
    const body = { resourceType: 'Organization', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000001' }], name: 'CHU' };
    const first = await send(server, 'post', 'Organization', op, body).set('If-None-Exist', 'identifier=urn:oid:1.2.250.1.71.4.2.2|1750000001');
    expect(first.status).toBe(201);
    const second = await send(server, 'post', 'Organization', op, body).set('If-None-Exist', 'identifier=urn:oid:1.2.250.1.71.4.2.2|1750000001');
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
  });

  it('conditional update and delete act on the single match', async () => {
    const ident = 'urn:oid:1.2.250.1.71.4.2.2|1750000002';
    const criteria = `identifier=${encodeURIComponent(ident)}`;
    const body = { resourceType: 'Organization', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000002' }], name: 'Clinique A' };
    const created = await send(server, 'put', `Organization?${criteria}`, op, body);
    expect(created.status).toBe(201);
    const updated = await send(server, 'put', `Organization?${criteria}`, op, { ...body, name: 'Clinique B' });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    const removed = await server.request.delete(`/fhir/Organization?${criteria}`).set('Authorization', `Bearer ${op}`);
    expect(removed.status).toBe(204);
    expect((await get(server, `Organization/${created.body.id}`, op)).status).toBe(410);
  });

  it('conditional update with several matches is 412', async () => {
    const body = { resourceType: 'Organization', identifier: [{ system: 'urn:test', value: 'twin' }], name: 'Twin' };
    await send(server, 'post', 'Organization', op, body);
    await send(server, 'post', 'Organization', op, body);
    const res = await send(server, 'put', 'Organization?identifier=urn:test|twin', op, body);
    expect(res.status).toBe(412);
  });

  it('$validate checks without writing, with a profile from the query or a Parameters part', async () => {
    const bad = await send(server, 'post', 'Patient/$validate', op, { resourceType: 'Patient', gender: 'robot' });
    expect(bad.status).toBe(200);
    expect(bad.body.issue.some((i: { severity: string; expression?: string[] }) => i.severity === 'error' && i.expression?.[0] === 'Patient.gender')).toBe(true);
    const good = await send(server, 'post', 'Patient/$validate', op, patient('Valide'));
    expect(good.body.issue.every((i: { severity: string }) => i.severity !== 'error')).toBe(true);
    const profiled = await send(server, 'post', 'Patient/$validate', op, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: { resourceType: 'Patient', name: [{ family: 'SansINS' }] } },
        { name: 'profile', valueCanonical: 'https://carnet.example.org/fhir/StructureDefinition/carnet-patient' },
      ],
    });
    expect(profiled.body.issue.some((i: { severity: string }) => i.severity === 'error')).toBe(true);
    const history = await get(server, '_history?_count=1000', op);
    expect(history.body.entry.some((e: { resource?: { name?: { family: string }[] } }) => e.resource?.name?.[0]?.family === 'SansINS')).toBe(false);
  });

  it('metadata needs no token and lists what the server supports', async () => {
    const res = await server.request.get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
    expect(res.body.fhirVersion).toBe('4.0.1');
    const doc = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'DocumentReference');
    expect(doc.searchParam.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['patient', 'type', 'date']));
    expect(doc.interaction.map((i: { code: string }) => i.code)).toEqual(expect.arrayContaining(['read', 'vread', 'create', 'update', 'patch', 'delete']));
  });
});
