/** Bad input never crashes: each case gets an OperationOutcome with the right 4xx (CONTRACT §2). */
import { startTestServer, type TestServer } from '../support/server';

type Case = [string, (s: TestServer, token: string) => Promise<{ status: number; body: { resourceType?: string; issue?: { expression?: string[] }[] }; headers: Record<string, string> }>, number, string?];

const deep = (depth: number): unknown => (depth === 0 ? 'x' : { extension: [{ url: 'u', valueString: 'v', extension: [deep(depth - 1)] }] });

const cases: Case[] = [
  ['malformed JSON', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType": "Patient",'), 400],
  ['XML body', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+xml').send('<Patient/>'), 415],
  ['text body', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'text/plain').send('hello'), 415],
  ['Latin-1 charset', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json; charset=iso-8859-1').send('{}'), 415],
  ['Accept XML only', (s, t) => s.request.get('/fhir/Patient/x').set('Authorization', `Bearer ${t}`).set('Accept', 'application/fhir+xml'), 406],
  ['_format=xml', (s, t) => s.request.get('/fhir/Patient/x?_format=xml').set('Authorization', `Bearer ${t}`), 406],
  ['body is an array', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('[]'), 400],
  ['no resourceType', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"gender":"male"}'), 400, 'resourceType'],
  ['type differs from URL', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Observation"}'), 400, 'resourceType'],
  ['PUT without id', (s, t) => s.request.put('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient"}'), 400, 'id'],
  ['PUT id differs from URL', (s, t) => s.request.put('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","id":"b2"}'), 400, 'id'],
  ['bad id in URL', (s, t) => s.request.get('/fhir/Patient/has_underscore!').set('Authorization', `Bearer ${t}`), 400],
  ['id longer than 64', (s, t) => s.request.get(`/fhir/Patient/${'a'.repeat(65)}`).set('Authorization', `Bearer ${t}`), 400],
  ['bad version id', (s, t) => s.request.get('/fhir/Patient/a/_history/abc').set('Authorization', `Bearer ${t}`), 400],
  ['unknown resource type', (s, t) => s.request.get('/fhir/Unicorn/1').set('Authorization', `Bearer ${t}`), 404],
  ['unknown resource type create', (s, t) => s.request.post('/fhir/Unicorn').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Unicorn"}'), 404],
  ['missing resource', (s, t) => s.request.get('/fhir/Patient/does-not-exist').set('Authorization', `Bearer ${t}`), 404],
  ['unknown element', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","colour":"blue"}'), 422],
  ['wrong primitive type', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","active":"yes"}'), 422, 'Patient.active'],
  ['bad code', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","gender":"robot"}'), 422, 'Patient.gender'],
  ['empty array', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","name":[]}'), 422],
  ['missing required element', (s, t) => s.request.post('/fhir/Observation').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Observation","status":"final"}'), 422, 'Observation.code'],
  ['deep nesting', (s, t) => s.request.post('/fhir/Patient').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'Patient', ...(deep(200) as object) })), 400],
  ['write to a conformance type', (s, t) => s.request.post('/fhir/StructureDefinition').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"StructureDefinition"}'), 405],
  ['unsupported method on an instance', (s, t) => s.request.post('/fhir/Patient/abc').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{}'), 405],
  ['AuditEvent written by a client', (s, t) => s.request.post('/fhir/AuditEvent').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'AuditEvent', type: { code: 'rest' }, recorded: '2024-01-01T00:00:00Z', agent: [{ requestor: true }], source: { observer: { display: 'x' } } })), 405],
  ['malformed If-Match', (s, t) => s.request.put('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('If-Match', 'banana').set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient","id":"a1"}'), 400],
  ['bad _count', (s, t) => s.request.get('/fhir/Patient/_history?_count=-1').set('Authorization', `Bearer ${t}`), 400, '_count'],
  ['conditional delete without criteria', (s, t) => s.request.delete('/fhir/Patient').set('Authorization', `Bearer ${t}`), 400],
  ['patch with a JSON body type', (s, t) => s.request.patch('/fhir/Patient/a1').set('Authorization', `Bearer ${t}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient"}'), 415],
  ['nothing at that path', (s, t) => s.request.get('/fhir/Patient/a/b/c/d').set('Authorization', `Bearer ${t}`), 404],
];

describe('client errors are OperationOutcomes with the right status', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer({ MAX_BODY: '64kb' });
    token = await server.systemToken('tester');
  });
  afterAll(() => server.close());

  it.each(cases)('%s → %i', async (_name, run, status, expression) => {
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
});
