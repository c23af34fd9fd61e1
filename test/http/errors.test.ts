/** Bad input never crashes: each case gets an OperationOutcome with the right 4xx (CONTRACT §2). */
import { startTestServer, type TestServer } from '../support/server';

type Run = (s: TestServer, token: string) => Promise<{ status: number; body: { resourceType?: string; issue?: { expression?: string[] }[] }; headers: Record<string, string> }>;
type Case = [string, number, Run, string?];

const deep = (depth: number): unknown => (depth === 0 ? 'x' : { extension: [{ url: 'u', valueString: 'v', extension: [deep(depth - 1)] }] });

const cases: Case[] = [
  ['malformed JSON', 400, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType": "Patient",')],
  ['XML body', 415, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+xml').send('<Patient/>')],
  ['text body', 415, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'text/plain').send('hello')],
  ['Latin-1 charset', 415, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json; charset=iso-8859-1').send('{}')],
  ['Accept XML only', 406, (s, t) => s.request.get('/fhir/Patient/x').set('Authorization', `Bearer ${t}`).set('Accept', 'application/fhir+xml')],
  ['_format=xml', 406, (s, t) => s.request.get('/fhir/Patient/x?_format=xml').set('Authorization', `Bearer ${t}`)],
  ['body is an array', 400, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('[]')],
  ['no resourceType', 400, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"gender":"male"}'), 'resourceType'],
  ['type differs from URL', 400, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Observation"}'), 'resourceType'],
  ['PUT without id', 400, (s, t) => s.request.put('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient"}'), 'id'],
  ['PUT id differs from URL', 400, (s, t) => s.request.put('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","id":"b2"}'), 'id'],
  ['bad id in URL', 400, (s, t) => s.request.get('/fhir/Patient/has_underscore!').set('Authorization', `Bearer ${t}`)],
  ['id longer than 64', 400, (s, t) => s.request.get(`/fhir/Patient/${'a'.repeat(65)}`).set('Authorization', `Bearer ${t}`)],
  ['bad version id', 400, (s, t) => s.request.get('/fhir/Patient/a/_history/abc').set('Authorization', `Bearer ${t}`)],
  ['unknown resource type', 404, (s, t) => s.request.get('/fhir/Unicorn/1').set('Authorization', `Bearer ${t}`)],
  ['unknown resource type create', 404, (s, t) => s.request.post('/fhir/Unicorn').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Unicorn"}')],
  ['missing resource', 404, (s, t) => s.request.get('/fhir/Patient/does-not-exist').set('Authorization', `Bearer ${t}`)],
  ['unknown element', 422, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","colour":"blue"}')],
  ['wrong primitive type', 422, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","active":"yes"}'), 'Patient.active'],
  ['bad code', 422, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","gender":"robot"}'), 'Patient.gender'],
  ['empty array', 422, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","name":[]}')],
  ['missing required element', 422, (s, t) => s.request.post('/fhir/Observation').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Observation","status":"final"}'), 'Observation.code'],
  ['deep nesting', 400, (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'Patient', ...(deep(200) as object) }))],
  ['write to a conformance type', 405, (s, t) => s.request.post('/fhir/StructureDefinition').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"StructureDefinition"}')],
  ['unsupported method on an instance', 405, (s, t) => s.request.post('/fhir/Patient/abc').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{}')],
  ['AuditEvent written by a client', 405, (s, t) => s.request.post('/fhir/AuditEvent').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'AuditEvent', type: { code: 'rest' }, recorded: '2024-01-01T00:00:00Z', agent: [{ requestor: true }], source: { observer: { display: 'x' } } }))],
  ['malformed If-Match', 400, (s, t) => s.request.put('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('If-Match', 'banana').set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","id":"a1"}')],
  ['bad _count', 400, (s, t) => s.request.get('/fhir/Patient/_history?_count=-1').set('Authorization', `Bearer ${t}`), '_count'],
  ['conditional delete without criteria', 400, (s, t) => s.request.delete('/fhir/Patient').set('Authorization', `Bearer ${t}`)],
  ['patch with a JSON body type', 415, (s, t) => s.request.patch('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient"}')],
  ['nothing at that path', 404, (s, t) => s.request.get('/fhir/Patient/a/b/c/d').set('Authorization', `Bearer ${t}`)],
];

describe('client errors are OperationOutcomes with the right status', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer({ MAX_BODY: '64kb' });
    token = await server.systemToken('tester');
  });
  afterAll(() => server.close());

  it.each(cases)('%s → %i', async (...[, status, run, expression]: Case) => {
    const res = await run(server, token);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    if (expression) expect(res.body.issue?.some((issue) => issue.expression?.includes(expression))).toBe(true);
  });

  it('a body over MAX_BODY is 413', async () => {
    const big = JSON.stringify({ resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(70 * 1024)}</div>` } });
    const res = await server.request.post('/fhir/Patient').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json').send(big);
    expect(res.status).toBe(413);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['no Authorization header', undefined],
    ['not a bearer token', 'Basic dXNlcjpwYXNz'],
    ['garbage token', 'Bearer not-a-jwt'],
  ])('%s → 401 with WWW-Authenticate', async (_name, authorization) => {
    const req = server.request.get('/fhir/Patient/x');
    const res = authorization ? await req.set('Authorization', authorization) : await req;
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('health endpoints answer without a token', async () => {
    expect((await server.request.get('/healthz')).status).toBe(200);
    expect((await server.request.get('/readyz')).status).toBe(200);
  });

  type Malformed = [string, (s: TestServer, t: string, value: string) => Promise<{ status: number; body: { resourceType?: string; issue?: { diagnostics?: string; expression?: string[] }[] } }>];
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
  const transaction = (url: string) => JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url } }] });
  const routes: Malformed[] = [
    ['type search', (s, t, v) => s.request.get(`/fhir/Patient?name=${v}`).set(auth(t))],
    ['system search', (s, t, v) => s.request.get(`/fhir?_type=Patient&name=${v}`).set(auth(t))],
    ['GET …/_search', (s, t, v) => s.request.get(`/fhir/Patient/_search?name=${v}`).set(auth(t))],
    ['POST …/_search form body', (s, t, v) => s.request.post('/fhir/Patient/_search').set(auth(t)).set('Content-Type', 'application/x-www-form-urlencoded').send(`name=${v}`)],
    ['history', (s, t, v) => s.request.get(`/fhir/Patient/_history?name=${v}`).set(auth(t))],
    ['activity history', (s, t, v) => s.request.get(`/fhir/AuditEvent?name=${v}`).set(auth(t))],
    ['conditional delete', (s, t, v) => s.request.delete(`/fhir/Patient?name=${v}`).set(auth(t))],
    ['If-None-Exist', (s, t, v) => s.request.post('/fhir/Patient').set(auth(t)).set('Content-Type', 'application/fhir+json').set('If-None-Exist', `name=${v}`).send('{"resourceType":"Patient"}')],
    ['a transaction entry', (s, t, v) => s.request.post('/fhir').set(auth(t)).set('Content-Type', 'application/fhir+json').send(transaction(`Patient?name=${v}`))],
    ['metadata', (s, _t, v) => s.request.get(`/fhir/metadata?name=${v}`)],
  ];
  const encodings = [
    ['a truncated escape', '%E0%A4%A'],
    ['a non-hex escape', '%ZZ'],
    ['an invalid UTF-8 sequence', '%C3%28'],
    ['a lone continuation byte', '%80'],
  ];
  it.each(routes.flatMap(([route, run]) => encodings.map(([kind, value]) => [route, kind, value, run] as const)))(
    '%s with %s (%s) → 400 naming the parameter',
    async (_route, _kind, value, run) => {
      const res = await run(server, token, value);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue?.[0]?.diagnostics).toContain('"name"');
    },
  );

  type Wrong = [string, string, string | undefined, string];
  const wrongMethods: Wrong[] = [
    ['DELETE', '/fhir/metadata', undefined, 'GET, HEAD'],
    ['PUT', '/fhir/metadata', 'token', 'GET, HEAD'],
    ['POST', '/fhir/metadata', 'token', 'GET, HEAD'],
    ['PATCH', '/fhir/metadata', 'token', 'GET, HEAD'],
    ['DELETE', '/fhir/metadata', 'token', 'GET, HEAD'],
    ['POST', '/fhir/_history', 'token', 'GET, HEAD'],
    ['DELETE', '/fhir/Patient/_history', 'token', 'GET, HEAD'],
    ['PUT', '/fhir/Patient/_search', 'token', 'GET, HEAD, POST'],
    ['DELETE', '/fhir/_search', 'token', 'GET, HEAD, POST'],
    ['GET', '/fhir/Patient/$validate', 'token', 'POST'],
    ['POST', '/fhir/Patient/abc/_history', 'token', 'GET, HEAD'],
  ];
  it.each(wrongMethods)('%s %s (%s) → 405 with Allow: %s', async (method, url, withToken, allow) => {
    let req = server.request[method.toLowerCase() as 'get'](url);
    if (withToken) req = req.set(auth(token));
    if (method !== 'GET' && method !== 'DELETE') req = req.set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient"}');
    const res = await req;
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['GET /fhir/Patient/_search', '/fhir/Patient/_search?_count=1'],
    ['GET /fhir/_search', '/fhir/_search?_type=Patient&_count=1'],
  ])('%s is a search', async (_name, url) => {
    const res = await server.request.get(url).set(auth(token));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
  });
});
