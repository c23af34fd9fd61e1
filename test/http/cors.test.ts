/**
 * CORS for browser apps (CONTRACT §8): the preflights a browser sends before
 * a SMART app's calls, for an origin of CORS_ORIGINS and for one outside it,
 * then the actual requests and the headers the app may read.
 */
import { loadConfig } from '../../src/config';
import { startTestServer, FHIR_JSON, type TestServer } from '../support/server';

const APP = 'https://app.example.org';
const LOCAL_APP = 'http://localhost:3000';
const STRANGER = 'https://evil.example.net';

/** What a browser sends before a non-simple request: the method and the (lower-case, sorted) header names it will send. */
function preflight(server: TestServer, path: string, origin: string, method: string, headers: string[]) {
  return server.request
    .options(path)
    .set('Origin', origin)
    .set('Access-Control-Request-Method', method)
    .set('Access-Control-Request-Headers', headers.join(','));
}

const commaList = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim().toLowerCase());

const corsHeadersOf = (headers: Record<string, string>) => Object.keys(headers).filter((name) => name.startsWith('access-control-'));

describe('CORS with CORS_ORIGINS set to two origins', () => {
  let server: TestServer;
  let token: string;
  let patientId: string;
  beforeAll(async () => {
    server = await startTestServer({ CORS_ORIGINS: `${APP}, ${LOCAL_APP}/` });
    token = await server.systemToken('cors-client');
    const created = await server.request.post('/fhir/Patient').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Lefèvre' }] }));
    expect(created.status).toBe(201);
    patientId = created.body.id;
  });
  afterAll(() => server.close());

  it.each([
    ['a conditional read', () => `/fhir/Patient/${patientId}`, APP, 'GET', ['authorization', 'if-none-match', 'x-request-id']],
    ['a search in break-glass', () => '/fhir/DocumentReference?patient=1', APP, 'GET', ['authorization', 'x-break-glass-reason', 'x-purpose-of-use']],
    ['a versioned update', () => `/fhir/Patient/${patientId}`, LOCAL_APP, 'PUT', ['authorization', 'content-type', 'if-match', 'prefer']],
    ['a conditional create', () => '/fhir/Patient', APP, 'POST', ['authorization', 'content-type', 'if-none-exist']],
    ['a transaction', () => '/fhir', APP, 'POST', ['authorization', 'content-type', 'prefer']],
    ['a patch', () => `/fhir/Patient/${patientId}`, APP, 'PATCH', ['authorization', 'content-type', 'if-match']],
    ['a delete', () => `/fhir/Patient/${patientId}`, APP, 'DELETE', ['authorization']],
    ['a refreshing read', () => `/fhir/Patient/${patientId}`, APP, 'GET', ['authorization', 'if-modified-since']],
    ['a patient login', () => '/auth/login', APP, 'POST', ['content-type']],
    ['an enrolment', () => '/account/enrol', LOCAL_APP, 'POST', ['authorization', 'content-type']],
  ])('answers the preflight of %s from an allowed origin', async (_what, path, origin, method, headers) => {
    const res = await preflight(server, path(), origin, method, headers);
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(commaList(res.headers['access-control-allow-methods'])).toEqual(expect.arrayContaining([method.toLowerCase()]));
    expect(commaList(res.headers['access-control-allow-headers'])).toEqual(expect.arrayContaining(headers));
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(Number(res.headers['access-control-max-age'])).toBeGreaterThan(0);
    expect(commaList(res.headers.vary)).toContain('origin');
    expect(res.text).toBe('');
  });

  it('allows every method and request header of a FHIR client in one preflight', async () => {
    const res = await preflight(server, '/fhir/Patient', APP, 'PUT', []);
    expect(commaList(res.headers['access-control-allow-methods']).sort()).toEqual(['delete', 'get', 'head', 'patch', 'post', 'put']);
    expect(commaList(res.headers['access-control-allow-headers']).sort()).toEqual(
      ['authorization', 'content-type', 'if-match', 'if-modified-since', 'if-none-exist', 'if-none-match', 'if-range', 'prefer', 'range', 'x-break-glass-reason', 'x-purpose-of-use', 'x-request-id', 'x-security-context'],
    );
  });

  it.each([
    ['an origin outside the list', STRANGER],
    ['an allowed host on another scheme', 'http://app.example.org'],
    ['an allowed host on another port', 'https://app.example.org:8443'],
    ['a sub-domain of an allowed origin', 'https://evil.app.example.org'],
  ])('gives %s no CORS header on its preflight', async (_what, origin) => {
    const res = await preflight(server, `/fhir/Patient/${patientId}`, origin, 'GET', ['authorization']);
    expect(corsHeadersOf(res.headers)).toEqual([]);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(commaList(res.headers.vary)).toContain('origin');
  });

  it('lets an allowed origin read the answer of a read and the headers a FHIR client needs', async () => {
    const res = await server.request.get(`/fhir/Patient/${patientId}`).set('Origin', APP).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(commaList(res.headers['access-control-expose-headers']).sort()).toEqual(['accept-ranges', 'content-location', 'content-range', 'etag', 'last-modified', 'location', 'www-authenticate', 'x-request-id']);
    expect(res.headers.etag).toBe('W/"1"');
  });

  it.each([
    ['a create (Location)', (s: TestServer, t: string) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient' })), 201],
    ['a request without a token (WWW-Authenticate)', (s: TestServer) => s.request.get('/fhir/Patient'), 401],
    ['the capabilities, without a token', (s: TestServer) => s.request.get('/fhir/metadata'), 200],
    ['a patient login refused', (s: TestServer) => s.request.post('/auth/login').set('Content-Type', 'application/json').send('{}'), 400],
    ['SMART discovery', (s: TestServer) => s.request.get('/.well-known/smart-configuration'), 200],
    ['SMART discovery under the FHIR base', (s: TestServer) => s.request.get('/fhir/.well-known/smart-configuration'), 200],
    ['the server\'s public keys', (s: TestServer) => s.request.get('/auth/jwks'), 200],
  ])('lets an allowed origin read %s', async (_what, call, status) => {
    const res = await call(server, token).set('Origin', APP);
    expect(res.status).toBe(status);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-expose-headers']).toBeDefined();
  });

  it('gives a refused origin the answer without any CORS header (the browser withholds it)', async () => {
    const res = await server.request.get(`/fhir/Patient/${patientId}`).set('Origin', STRANGER).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(corsHeadersOf(res.headers)).toEqual([]);
  });

  it('adds no CORS header outside the API (health checks)', async () => {
    const res = await server.request.get('/healthz').set('Origin', APP);
    expect(res.status).toBe(200);
    expect(corsHeadersOf(res.headers)).toEqual([]);
  });

  it('tells the CapabilityStatement that CORS is on', async () => {
    const res = await server.request.get('/fhir/metadata');
    expect(res.body.rest[0].security.cors).toBe(true);
  });
});

describe.each([
  ['unset', undefined],
  ['*', '*'],
])('CORS with CORS_ORIGINS %s', (_what, setting) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(setting === undefined ? {} : { CORS_ORIGINS: setting });
  });
  afterAll(() => server.close());

  it('answers a browser preflight accordingly', async () => {
    const res = await preflight(server, '/fhir/Patient', STRANGER, 'POST', ['authorization', 'content-type']);
    if (setting === undefined) {
      expect(corsHeadersOf(res.headers)).toEqual([]);
      expect(res.status).toBeGreaterThanOrEqual(400);
    } else {
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('says so in the CapabilityStatement', async () => {
    const res = await server.request.get('/fhir/metadata').set('Origin', STRANGER);
    expect(res.body.rest[0].security.cors).toBe(setting !== undefined);
    expect(res.headers['access-control-allow-origin']).toBe(setting);
  });
});

describe('CORS_ORIGINS parsing', () => {
  it.each([
    ['https://app.example.org/path'],
    ['app.example.org'],
    ['ftp://app.example.org'],
  ])('refuses %s at start', (setting) => {
    expect(() => loadConfig({ CORS_ORIGINS: setting })).toThrow(/CORS_ORIGINS/);
  });

  it('reads a list with spaces, a trailing slash and capitals as origins', () => {
    expect(loadConfig({ CORS_ORIGINS: ' https://App.example.org/ ,http://localhost:3000' }).corsOrigins).toEqual(['https://app.example.org', 'http://localhost:3000']);
  });
});
