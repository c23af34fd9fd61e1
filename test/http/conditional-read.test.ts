/**
 * Conditional read (CONTRACT §8, FHIR http.html#cread): a client holding the
 * current version gets 304 with no body, on read and vread, by ETag
 * (`If-None-Match`) or date (`If-Modified-Since`); anything newer, gone or
 * unseen answers as without the condition.
 */
import { get, send, startTestServer, type TestServer } from '../support/server';

const NIR = 'urn:oid:1.2.250.1.213.1.4.8';

describe('conditional read', () => {
  let server: TestServer;
  let op: string;
  let id: string;
  let goneId: string;
  let lastModified: Date;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('conditional-client');
    const created = await send(server, 'post', 'Patient', op, { resourceType: 'Patient', identifier: [{ system: NIR, value: '2800575900001' }], name: [{ family: 'Roux' }] });
    id = created.body.id;
    const updated = await send(server, 'put', `Patient/${id}`, op, { resourceType: 'Patient', id, identifier: [{ system: NIR, value: '2800575900001' }], name: [{ family: 'Roux' }], gender: 'female' });
    expect(updated.headers.etag).toBe('W/"2"');
    lastModified = new Date(updated.headers['last-modified']);
    goneId = (await send(server, 'post', 'Patient', op, { resourceType: 'Patient', identifier: [{ system: NIR, value: '2800575900002' }] })).body.id;
    await server.request.delete(`/fhir/Patient/${goneId}`).set('Authorization', `Bearer ${op}`).expect(204);
  });
  afterAll(() => server.close());

  const seconds = (delta: number) => () => new Date(lastModified.getTime() + delta * 1000).toUTCString();
  const fixed = (value: string) => () => value;

  it.each([
    ['the current weak ETag', 304, 'current', { 'If-None-Match': fixed('W/"2"') }],
    ['the current ETag in its strong form', 304, 'current', { 'If-None-Match': fixed('"2"') }],
    ['a list holding the current ETag', 304, 'current', { 'If-None-Match': fixed('W/"7", W/"2"') }],
    ['any ETag (*)', 304, 'current', { 'If-None-Match': fixed('*') }],
    ['an older ETag', 200, 'current', { 'If-None-Match': fixed('W/"1"') }],
    ['Last-Modified itself', 304, 'current', { 'If-Modified-Since': seconds(0) }],
    ['a date after Last-Modified', 304, 'current', { 'If-Modified-Since': seconds(3600) }],
    ['a date before Last-Modified', 200, 'current', { 'If-Modified-Since': seconds(-1) }],
    ['an unreadable date', 200, 'current', { 'If-Modified-Since': fixed('yesterday') }],
    ['an older ETag with a later date (the ETag decides)', 200, 'current', { 'If-None-Match': fixed('W/"1"'), 'If-Modified-Since': seconds(3600) }],
    ['vread of version 1 with its ETag', 304, 'v1', { 'If-None-Match': fixed('W/"1"') }],
    ['vread of version 1 with the current ETag', 200, 'v1', { 'If-None-Match': fixed('W/"2"') }],
    ['vread of version 2 with its date', 304, 'v2', { 'If-Modified-Since': seconds(0) }],
    ['a deleted resource with any ETag', 410, 'gone', { 'If-None-Match': fixed('*') }],
    ['an id that does not exist', 404, 'missing', { 'If-None-Match': fixed('*') }],
  ])('%s → %i', async (_what, status, target, conditions) => {
    const path = { current: `Patient/${id}`, v1: `Patient/${id}/_history/1`, v2: `Patient/${id}/_history/2`, gone: `Patient/${goneId}`, missing: 'Patient/nobody-here' }[target];
    let request = get(server, path as string, op);
    for (const [name, value] of Object.entries(conditions)) request = request.set(name, value());
    const res = await request;
    expect(res.status).toBe(status);
    if (status === 304) {
      expect(res.text ?? '').toBe('');
      expect(res.headers['content-length'] ?? '0').toBe('0');
      expect(res.headers.etag).toBe(target === 'v1' ? 'W/"1"' : 'W/"2"');
      expect(res.headers['last-modified']).toBeDefined();
    }
    if (status === 200) expect(res.body.id).toBe(id);
  });

  it('answers 304 to a HEAD with the current ETag', async () => {
    const res = await server.request.head(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${op}`).set('If-None-Match', 'W/"2"');
    expect(res.status).toBe(304);
    expect(res.headers.etag).toBe('W/"2"');
  });

  it('tells nothing to a caller who may not see the resource: 404 whatever the condition', async () => {
    const stranger = await server.patientToken('someone-else');
    const res = await get(server, `Patient/${id}`, stranger).set('If-None-Match', 'W/"2"');
    expect(res.status).toBe(404);
    expect(res.headers.etag).toBeUndefined();
  });

  it('is advertised by the CapabilityStatement for stored types only', async () => {
    const res = await server.request.get('/fhir/metadata');
    const entry = (type: string) => res.body.rest[0].resource.find((r: { type: string }) => r.type === type);
    expect(entry('Patient').conditionalRead).toBe('full-support');
    expect(entry('Observation').conditionalRead).toBe('full-support');
    expect(entry('StructureDefinition').conditionalRead).toBe('not-supported');
  });
});
