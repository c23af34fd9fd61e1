/**
 * Response compression (CONTRACT §8): gzip and br on `Accept-Encoding`,
 * read off the wire as the client receives it, decompressed and compared
 * with the uncompressed answer; small bodies and HEAD go uncompressed; the
 * headers a FHIR client reads (ETag, X-Request-Id…) survive.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { startTestServer, send, type TestServer } from '../support/server';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const decoders: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => zlib.gunzipSync(body),
  br: (body) => zlib.brotliDecompressSync(body),
  identity: (body) => body,
};

describe('response compression', () => {
  let server: TestServer;
  let listener: http.Server;
  let port: number;
  let token: string;
  let patientId: string;
  let smallId: string;

  /** The bytes as they come off the socket (no client-side decoding). */
  function raw(method: string, path: string, headers: Record<string, string>): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers: { authorization: `Bearer ${token}`, ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.systemToken('compression-client');
    const names = Array.from({ length: 40 }, (_, i) => ({ family: `Famille${i}`, given: ['Jean-Baptiste', 'Marie-Hélène'] }));
    patientId = (await send(server, 'post', 'Patient', token, { resourceType: 'Patient', name: names })).body.id;
    smallId = (await send(server, 'post', 'Patient', token, { resourceType: 'Patient', gender: 'other' })).body.id;
    listener = http.createServer(server.carnet.app);
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    await server.close();
  });

  it.each([
    ['gzip', 'gzip', 'gzip'],
    ['br', 'br', 'br'],
    ['br and gzip (br preferred)', 'gzip, deflate, br', 'br'],
    ['gzip by quality', 'br;q=0.1, gzip;q=0.9', 'gzip'],
  ])('encodes a read of a large resource when the client accepts %s', async (_what, accept, encoding) => {
    const plain = await raw('GET', `/fhir/Patient/${patientId}`, { 'accept-encoding': 'identity' });
    const res = await raw('GET', `/fhir/Patient/${patientId}`, { 'accept-encoding': accept, 'x-request-id': 'compressed-read-1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe(encoding);
    expect(res.headers['vary']).toMatch(/accept-encoding/i);
    expect(res.body.length).toBeLessThan(plain.body.length / 2);
    expect(decoders[encoding](res.body).toString()).toBe(plain.body.toString());
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['last-modified']).toBe(plain.headers['last-modified']);
    expect(res.headers['x-request-id']).toBe('compressed-read-1');
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
  });

  it.each([
    ['the CapabilityStatement', 'br', '/fhir/metadata'],
    ['the CapabilityStatement', 'gzip', '/fhir/metadata'],
    ['a search Bundle', 'gzip', '/fhir/Patient?_count=50'],
    ['a search Bundle', 'br', '/fhir/Patient?_count=50'],
  ])('encodes %s in %s and it decodes to the plain answer', async (_what, encoding, path) => {
    const plain = await raw('GET', path, { 'accept-encoding': 'identity' });
    const res = await raw('GET', path, { 'accept-encoding': encoding });
    expect(res.status).toBe(plain.status);
    if (plain.body.length < 1024) throw new Error(`${path} answered only ${plain.body.length} bytes: not a large body`);
    expect(res.headers['content-encoding']).toBe(encoding);
    const decoded = JSON.parse(decoders[encoding](res.body).toString());
    const expected = JSON.parse(plain.body.toString());
    if (expected.resourceType === 'Bundle') delete expected.meta, delete decoded.meta; // lastUpdated of each search
    expect(decoded).toEqual(expected);
  });

  it.each([
    ['a small read', 'GET', () => `/fhir/Patient/${smallId}`, 'gzip, br', 200],
    ['no Accept-Encoding', 'GET', () => `/fhir/Patient/${patientId}`, undefined, 200],
    ['identity only', 'GET', () => `/fhir/Patient/${patientId}`, 'identity', 200],
    ['a HEAD', 'HEAD', () => `/fhir/Patient/${patientId}`, 'gzip, br', 200],
    ['a 304', 'GET', () => `/fhir/Patient/${patientId}`, 'gzip, br', 304],
  ])('sends %s uncompressed', async (_what, method, path, accept, status) => {
    const headers: Record<string, string> = { ...(accept ? { 'accept-encoding': accept } : {}), ...(status === 304 ? { 'if-none-match': 'W/"1"' } : {}) };
    const res = await raw(method, path(), headers);
    expect(res.status).toBe(status);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.etag).toBe('W/"1"');
    if (method === 'GET' && status === 200) {
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
      expect(JSON.parse(res.body.toString()).resourceType).toBe('Patient');
      expect(res.headers.vary).toMatch(/accept-encoding/i); // a cache keeps the plain and the encoded answers apart
    }
  });
});
