/**
 * Real FHIR clients against Carnet on a real port (issue 13): `fhir-kit-client`
 * and `fhirclient` (the SMART JS client) in Node, with a backend-services
 * token obtained from /auth/token by a signed assertion (private_key_jwt),
 * then a transaction, a read, a search followed page by page through the
 * server's next links, and fhir-kit-client's compartmentSearch. What a
 * laboratory's integration would do; nothing here goes through supertest.
 */
import net, { type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Bundle, Observation, Patient } from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import smart from 'fhirclient';
import { startTestServer, type TestServer } from '../support/server';
import { assertion, clientKey, clientsFile, JWT_BEARER } from '../support/backend-client';
import { answerClientErrors } from '../../src/http/client-errors';

const SCOPE = 'system/Patient.cruds system/Observation.cruds';
const OBSERVATIONS = 7;

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('real FHIR clients with a backend-services token', () => {
  let server: TestServer;
  let listening: Server;
  let registry: ReturnType<typeof clientsFile>;
  let base: string;
  let accessToken: string;
  let patientId: string;
  /** fhir-kit-client, and the transaction response with which it seeded the suite (a patient and its observations). */
  let client: Client;
  let created: Bundle;

  const observations = (patient: string, from: number): Bundle['entry'] =>
    Array.from({ length: OBSERVATIONS }, (_, i) => ({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`,
      resource: { resourceType: 'Observation', status: 'final', code: { text: `mesure ${i}` }, subject: { reference: patient } } as Observation,
      request: { method: 'POST', url: 'Observation' },
    }));

  beforeAll(async () => {
    const key = await clientKey('ES384');
    registry = clientsFile([{ client_id: 'lab-real', jwks: { keys: [key.publicJwk] }, scope: SCOPE }]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startTestServer({ CLIENTS_FILE: registry.file, BASE_URL: base });
    listening = answerClientErrors(server.carnet.app.listen(port, '127.0.0.1'));
    await new Promise<void>((resolve) => listening.once('listening', resolve));
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE, client_assertion_type: JWT_BEARER, client_assertion: await assertion(key, 'lab-real', { aud: `${base}/auth/token` }) });
    const token = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    expect(token.status).toBe(200);
    accessToken = ((await token.json()) as { access_token: string }).access_token;
    client = new Client({ baseUrl: `${base}/fhir`, bearerToken: accessToken });
    const patientUrl = 'urn:uuid:10000000-0000-4000-8000-000000000001';
    const body: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ fullUrl: patientUrl, resource: { resourceType: 'Patient', name: [{ family: 'Réel', given: ['Client'] }] } as Patient, request: { method: 'POST', url: 'Patient' } }, ...(observations(patientUrl, 1) ?? [])],
    };
    created = (await client.transaction({ body: body as never })) as unknown as Bundle;
    patientId = /\/Patient\/([^/]+)\//.exec(created.entry?.[0].response?.location ?? '')?.[1] as string;
  });
  afterAll(async () => {
    await new Promise((resolve) => listening.close(resolve));
    await server.close();
    registry.remove();
  });

  describe('fhir-kit-client', () => {
    it('posts a transaction that creates a patient and its observations', () => {
      expect(created.type).toBe('transaction-response');
      expect(created.entry?.map((entry) => entry.response?.status.slice(0, 3))).toEqual(Array(OBSERVATIONS + 1).fill('201'));
      expect(created.entry?.[0].response?.location?.startsWith(`${base}/fhir/Patient/${patientId}/_history/`)).toBe(true);
    });

    it('reads the patient it created', async () => {
      const patient = (await client.read({ resourceType: 'Patient', id: patientId })) as unknown as Patient;
      expect(patient.name?.[0].family).toBe('Réel');
    });

    it('searches with paging, following next links to the last page', async () => {
      let page = (await client.search({ resourceType: 'Observation', searchParams: { patient: patientId, _count: 3 } })) as unknown as Bundle;
      const seen: string[] = [];
      let pages = 0;
      for (;;) {
        pages += 1;
        seen.push(...(page.entry ?? []).map((entry) => entry.resource?.id as string));
        const next = client.nextPage({ bundle: page as never });
        if (!next) break;
        page = (await next) as unknown as Bundle;
      }
      expect(pages).toBe(Math.ceil(OBSERVATIONS / 3));
      expect(new Set(seen).size).toBe(OBSERVATIONS);
    });

    it('runs a compartment search', async () => {
      const bundle = (await client.compartmentSearch({ resourceType: 'Observation', compartment: { resourceType: 'Patient', id: patientId }, searchParams: { _count: 100 } })) as unknown as Bundle;
      expect(bundle.entry).toHaveLength(OBSERVATIONS);
      expect(bundle.entry?.every((entry) => (entry.resource as Observation).subject?.reference === `Patient/${patientId}`)).toBe(true);
    });

    it('gets an OperationOutcome for what does not exist', async () => {
      await expect(client.read({ resourceType: 'Patient', id: 'nobody-here' })).rejects.toMatchObject({ response: { status: 404, data: { resourceType: 'OperationOutcome' } } });
    });
  });

  describe('fhirclient (SMART JS client, Node)', () => {
    // the Node adapter wants the incoming request of a web app; a backend has none, only a token
    const client = () => smart({ headers: {}, url: '/' } as never, {} as never).client({ serverUrl: `${base}/fhir`, tokenResponse: { access_token: accessToken } });

    it('reads a patient', async () => {
      const patient = (await client().request(`Patient/${patientId}`)) as Patient;
      expect(patient.id).toBe(patientId);
    });

    it('follows every page of a search (pageLimit 0) into one list', async () => {
      const found = (await client().request(`Observation?patient=${patientId}&_count=2`, { pageLimit: 0, flat: true })) as Observation[];
      expect(found).toHaveLength(OBSERVATIONS);
      expect(new Set(found.map((o) => o.id)).size).toBe(OBSERVATIONS);
    });

    it('posts a transaction', async () => {
      const patientUrl = 'urn:uuid:10000000-0000-4000-8000-000000000002'; // a patient of its own: the searches above keep their counts
      const entry = [{ fullUrl: patientUrl, resource: { resourceType: 'Patient', name: [{ family: 'Autre' }] } as Patient, request: { method: 'POST' as const, url: 'Patient' } }, ...(observations(patientUrl, 100) ?? []).slice(0, 2)];
      const body: Bundle = { resourceType: 'Bundle', type: 'transaction', entry };
      const response = (await client().request({ url: '', method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/fhir+json' } })) as Bundle;
      expect(response.entry?.map((entry) => entry.response?.status.slice(0, 3))).toEqual(['201', '201', '201']);
    });
  });

  describe("the HTTP parser's errors", () => {
    it.each([
      ['a request line over 16 KB', () => `GET /fhir/Patient?name=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
      ['a header over 16 KB', () => `GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 431],
      ['a line that is not HTTP', () => 'NOT HTTP AT ALL\r\n\r\n', 400],
    ])('answers %s with an OperationOutcome', async (_what, raw, status) => {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect((listening.address() as AddressInfo).port, '127.0.0.1', () => socket.end(raw()));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      expect(body.resourceType).toBe('OperationOutcome');
      expect(answer).toMatch(/content-type: application\/fhir\+json/i);
    });
  });
});
