/**
 * HTTP niceties of CONTRACT §8: `HEAD` on every GET URL answers GET's status
 * and headers with no body; `_pretty=true` indents the JSON (answers and
 * errors alike); the URLs a client follows (Location, Bundle links, fullUrl)
 * are absolute, on BASE_URL.
 */
import { get, send, startTestServer, BASE, type TestServer } from '../support/server';

const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
/** Headers a HEAD must answer as its GET does. */
const COMPARED = ['content-type', 'etag', 'last-modified', 'location', 'content-location', 'www-authenticate', 'allow'];

describe('HEAD, _pretty and absolute URLs', () => {
  let server: TestServer;
  let op: string;
  let id: string;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('niceties-client');
    id = (await send(server, 'post', 'Patient', op, { resourceType: 'Patient', identifier: [{ system: NIR, value: '2800575900101' }], name: [{ family: 'Girard' }] })).body.id;
    await send(server, 'post', 'Patient', op, { resourceType: 'Patient', identifier: [{ system: NIR, value: '2800575900102' }], name: [{ family: 'Girard' }] });
  });
  afterAll(() => server.close());

  /** `token`: send the operator's token; the path is built once the seed exists. */
  const call = (method: 'get' | 'head', path: string, token: boolean) => {
    const request = server.request[method](path).set('Accept-Encoding', 'identity');
    return token ? request.set('Authorization', `Bearer ${op}`) : request;
  };

  describe('HEAD', () => {
    it.each([
      ['the capabilities', () => '/fhir/metadata', false, 200, false],
      ['a read', () => `/fhir/Patient/${id}`, true, 200, true],
      ['a vread', () => `/fhir/Patient/${id}/_history/1`, true, 200, true],
      ['a type search', () => '/fhir/Patient?family=Girard', true, 200, false],
      ['a type search with _search', () => '/fhir/Patient/_search?family=Girard', true, 200, false],
      ['a system search', () => `/fhir?_type=Patient&_id=${id}`, true, 200, false],
      ['an instance history', () => `/fhir/Patient/${id}/_history`, true, 200, false],
      ['a type history', () => '/fhir/Patient/_history', true, 200, false],
      ['a system history', () => '/fhir/_history', true, 200, false],
      ['$everything', () => `/fhir/Patient/${id}/$everything`, true, 200, false],
      ['a conformance search', () => '/fhir/CodeSystem', true, 200, true],
      ['a read of an id never used', () => '/fhir/Patient/nobody-here', true, 404, true],
      ['a read without a token', () => `/fhir/Patient/${id}`, false, 401, true],
      ['an unknown type', () => '/fhir/NotAType/1', true, 404, true],
      ['a malformed search', () => '/fhir/Patient?birthdate=not-a-date', true, 400, true],
      ['the liveness probe', () => '/healthz', false, 200, true],
      ['the readiness probe', () => '/readyz', false, 200, true],
    ])('answers %s as GET does, without a body', async (_what, path, token, status, sameLength) => {
      const got = await call('get', path(), token);
      const head = await call('head', path(), token);
      expect(got.status).toBe(status);
      expect(head.status).toBe(status);
      for (const name of COMPARED) expect([name, head.headers[name]]).toEqual([name, got.headers[name]]);
      if (sameLength) expect(head.headers['content-length']).toBe(got.headers['content-length']);
      expect(head.text ?? '').toBe('');
      expect(head.headers['x-request-id']).toBeDefined();
    });
  });

  describe('_pretty', () => {
    it.each([
      ['a read', () => `/fhir/Patient/${id}?_pretty=true`, 200],
      ['a search', () => '/fhir/Patient?family=Girard&_pretty=true', 200],
      ['a search in strict handling (_pretty is no unknown parameter)', () => '/fhir/Patient?family=Girard&_pretty=true', 200],
      ['the capabilities', () => '/fhir/metadata?_pretty=true', 200],
      ['an error', () => '/fhir/Patient/nobody-here?_pretty=true', 404],
    ])('indents %s', async (what, path, status) => {
      const strict = what.includes('strict');
      const res = await call('get', path(), true).set('Prefer', strict ? 'handling=strict' : 'handling=lenient');
      expect(res.status).toBe(status);
      expect(res.text.startsWith('{\n  "resourceType": ')).toBe(true);
      expect(res.text).toBe(JSON.stringify(JSON.parse(res.text), null, 2));
    });

    it.each([
      ['no _pretty', ''],
      ['_pretty=false', '?_pretty=false'],
    ])('sends one line of JSON with %s', async (_what, query) => {
      const res = await call('get', `/fhir/Patient/${id}${query}`, true);
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('\n');
      expect(res.body.id).toBe(id);
    });

    it('answers the same resource, pretty or not', async () => {
      const pretty = await call('get', `/fhir/Patient/${id}?_pretty=true`, true);
      const plain = await call('get', `/fhir/Patient/${id}`, true);
      expect(pretty.body).toEqual(plain.body);
      expect(pretty.headers.etag).toBe(plain.headers.etag);
    });
  });

  describe('absolute URLs on BASE_URL', () => {
    const FHIR = `${BASE}/fhir/`;
    /** The FHIR base itself (a system search's links: `…/fhir?_type=…`) or a URL under it. */
    const ON_BASE = new RegExp(`^${BASE.replace(/\./g, '\\.')}/fhir(/|\\?|$)`);

    it('gives a create a Location on the FHIR base', async () => {
      const res = await send(server, 'post', 'Patient', op, { resourceType: 'Patient', identifier: [{ system: NIR, value: '2800575900103' }] });
      expect(res.headers.location).toBe(`${FHIR}Patient/${res.body.id}/_history/1`);
    });

    it.each([
      ['a type search, paged', () => 'Patient?family=Girard&_count=1'],
      ['a system search', () => '?_type=Patient&family=Girard'],
      ['a history', () => 'Patient/_history?_count=1'],
      ['$everything', () => `Patient/${id}/$everything`],
      ['a conformance search', () => 'CodeSystem?_count=1'],
    ])('gives %s absolute links and fullUrls', async (_what, path) => {
      const res = await get(server, path(), op);
      expect(res.status).toBe(200);
      const urls: string[] = [...(res.body.link ?? []).map((l: { url: string }) => l.url), ...(res.body.entry ?? []).map((e: { fullUrl: string }) => e.fullUrl)];
      expect(urls.length).toBeGreaterThan(1);
      for (const url of urls) expect(url).toMatch(ON_BASE);
    });

    it('gives a transaction absolute locations', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ fullUrl: 'urn:uuid:5c7d1c9e-0001-4c3b-9a52-8f1f2c3d4e5f', resource: { resourceType: 'Patient', identifier: [{ system: NIR, value: '2800575900104' }] }, request: { method: 'POST', url: 'Patient' } }],
      };
      const res = await send(server, 'post', '', op, bundle);
      expect(res.status).toBe(200);
      expect(res.body.entry[0].response.location).toMatch(new RegExp(`^${FHIR}Patient/[^/]+/_history/1$`));
      expect(res.body.entry[0].fullUrl).toMatch(new RegExp(`^${FHIR}Patient/`));
    });
  });
});
