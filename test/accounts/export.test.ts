/**
 * `GET /account/export` (§7) over HTTP on the real server: one `collection` Bundle of everything
 * of X — documents with their Binaries, the health profile, immunizations, appointments,
 * communications, consents, representatives, the activity history — the same as the caller
 * gets from the searches one by one; a legal representative gets what §4.3 lets them see (no
 * INVISIBLE_REPRESENTANTS_LEGAUX document, nor the events naming it), and their export is in
 * X's history; anyone else is refused with an OperationOutcome. A space of 2,000 observations
 * arrives in many chunks (the server's page size as in production), and a failure after the
 * first byte aborts the connection instead of closing the Bundle.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import supertest from 'supertest';
import type { AuditEvent, Bundle, BundleEntry, Resource } from 'fhir/r4';
import { startTestServer, get, BASE, type TestServer } from '../support/server';
import { accountExportRoute } from '../../src/http/account-export';
import { observation } from '../access/builders';
import { representativeToken, seedDirectory, seedSpace, SHARED, type Space } from './spaces';

const FHIR_BASE = `${BASE}/fhir`;
let server: TestServer;
let x: Space;

const exportAs = (token?: string) => {
  const request = server.request.get('/account/export');
  return token ? request.set('Authorization', `Bearer ${token}`) : request;
};
const keyOf = (entry: BundleEntry) => `${entry.resource?.resourceType}/${entry.resource?.id}`;
const keys = (entries: BundleEntry[]) => entries.map(keyOf).sort();
const ofType = (bundle: Bundle, type: string) => (bundle.entry ?? []).filter((entry) => entry.resource?.resourceType === type);

/** Every entry of a search and of the pages its `next` links lead to, as `token` gets them. */
async function searchAll(path: string, token: string): Promise<BundleEntry[]> {
  const entries: BundleEntry[] = [];
  let next: string | undefined = path;
  while (next) {
    const response = await get(server, next, token);
    expect(response.status).toBe(200);
    entries.push(...(response.body.entry ?? []));
    const link = (response.body as Bundle).link?.find((candidate) => candidate.relation === 'next')?.url;
    next = link?.slice(`${FHIR_BASE}/`.length);
  }
  return entries;
}

/** What the caller gets one request at a time: $everything, the documents' Binaries, the history. */
async function oneByOne(space: Space, token: string) {
  const everything = await searchAll(`Patient/${space.patientId}/$everything`, token);
  const binaryIds = everything
    .filter((entry) => entry.resource?.resourceType === 'DocumentReference')
    .flatMap((entry) => (entry.resource as unknown as { content: { attachment: { url?: string } }[] }).content.map((content) => content.attachment.url))
    .filter((url): url is string => typeof url === 'string')
    .map((url) => url.replace(/^Binary\//, ''));
  const binaries = await Promise.all(binaryIds.map(async (id) => (await get(server, `Binary/${id}`, token).set('Accept', 'application/fhir+json')).body as Resource));
  const history = await searchAll(`AuditEvent?patient=Patient/${space.patientId}&_sort=-date`, token);
  return { records: [...keys(everything), ...binaries.map((b) => `Binary/${b.id}`)].sort(), history: keys(history) };
}

beforeAll(async () => {
  server = await startTestServer({ NOTIFY_WORKER: 'off' });
  await seedDirectory(server);
  x = await seedSpace(server, 'exx');
  // The GP reads the document hidden from representatives: an event naming it.
  expect((await get(server, `DocumentReference/${x.documents.forRepresentativesHidden}`, await server.practitionerToken(SHARED.gp))).status).toBe(200);
}, 120_000);

afterAll(() => server?.close());

describe('the patient’s export', () => {
  it('is one collection Bundle, an attachment, holding every kind of X’s data', async () => {
    const response = await exportAs(await server.patientToken(x.patientId));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(response.headers['content-disposition']).toBe('attachment; filename="carnet-export.json"');
    const bundle = JSON.parse(response.text) as Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(Number.isNaN(Date.parse(bundle.timestamp as string))).toBe(false);
    const types = new Set((bundle.entry ?? []).map((entry) => entry.resource?.resourceType));
    for (const type of ['Patient', 'RelatedPerson', 'DocumentReference', 'Binary', 'Observation', 'Immunization', 'Appointment', 'Communication', 'Consent', 'AuditEvent']) expect(types).toContain(type);
    expect(keys(ofType(bundle, 'Binary'))).toEqual(expect.arrayContaining([`Binary/${x.binaries.linked}`]));
    expect(ofType(bundle, 'DocumentReference').map(keyOf)).toContain(`DocumentReference/${x.documents.forRepresentativesHidden}`);
    for (const entry of bundle.entry ?? []) expect(entry.fullUrl).toBe(`${FHIR_BASE}/${keyOf(entry)}`);
  });

  it('holds what X gets from the searches one by one, each resource once', async () => {
    const token = await server.patientToken(x.patientId);
    const expected = await oneByOne(x, token);
    const bundle = JSON.parse((await exportAs(token)).text) as Bundle;
    const entries = bundle.entry ?? [];
    expect(new Set(entries.map(keyOf)).size).toBe(entries.length);
    expect(keys(entries.filter((entry) => entry.resource?.resourceType !== 'AuditEvent'))).toEqual(expected.records);
    expect(keys(ofType(bundle, 'AuditEvent'))).toEqual(expected.history); // X's own requests are not audited
  });
});

describe('a legal representative’s export', () => {
  const mentions = (entry: BundleEntry, id: string) => JSON.stringify(entry.resource).includes(id);

  it('leaves out the INVISIBLE_REPRESENTANTS_LEGAUX document and every event naming it, which X gets', async () => {
    const hidden = x.documents.forRepresentativesHidden;
    const ofX = JSON.parse((await exportAs(await server.patientToken(x.patientId))).text) as Bundle;
    expect(ofType(ofX, 'AuditEvent').some((entry) => mentions(entry, hidden))).toBe(true);
    const ofRepresentative = JSON.parse((await exportAs(await representativeToken(server, x.representativeId))).text) as Bundle;
    expect((ofRepresentative.entry ?? []).filter((entry) => mentions(entry, hidden))).toEqual([]);
    expect(ofType(ofRepresentative, 'DocumentReference').map(keyOf)).toContain(`DocumentReference/${x.documents.visible}`);
  });

  it('holds what the representative gets one by one, and the history as it was', async () => {
    const token = await representativeToken(server, x.representativeId);
    const expected = await oneByOne(x, token);
    const bundle = JSON.parse((await exportAs(token)).text) as Bundle;
    expect(keys((bundle.entry ?? []).filter((entry) => entry.resource?.resourceType !== 'AuditEvent'))).toEqual(expected.records);
    // The history grows with the representative's own requests (the export's among them).
    const events = ofType(bundle, 'AuditEvent').map(keyOf);
    expect(events).toEqual(expect.arrayContaining(expected.history));
  });

  it('is itself in X’s activity history', async () => {
    const byRepresentative = async () =>
      (await searchAll(`AuditEvent?patient=Patient/${x.patientId}`, await server.patientToken(x.patientId))).filter((entry) =>
        (entry.resource as AuditEvent).agent.some((agent) => agent.who?.reference === `RelatedPerson/${x.representativeId}`),
      );
    const before = await byRepresentative();
    expect((await exportAs(await representativeToken(server, x.representativeId))).status).toBe(200);
    const added = (await byRepresentative()).filter((entry) => !before.some((old) => old.resource?.id === entry.resource?.id));
    expect(added.length).toBeGreaterThan(0);
    const subtypes = added.flatMap((entry) => ((entry.resource as AuditEvent).subtype ?? []).map((coding) => coding.code));
    expect(subtypes).toEqual(expect.arrayContaining(['operation', 'search-type'])); // $everything, the history
  });
});

describe('anyone else', () => {
  it.each([
    ['a practitioner', () => server.practitionerToken(SHARED.gp), 403],
    ['a system client', () => server.systemToken('test-operator'), 403],
    ['a RelatedPerson who is not a legal representative', async () => {
      await server.put({ resourceType: 'RelatedPerson', id: 'exx-friend', patient: { reference: `Patient/${x.patientId}` }, relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'FRND' }] }] } as Resource);
      return representativeToken(server, 'exx-friend');
    }, 403],
    ['nobody (no token)', async () => undefined, 401],
  ])('%s → an OperationOutcome, no Bundle', async (_who, token, status) => {
    const response = await exportAs(await token());
    expect(response.status).toBe(status);
    expect(response.body.resourceType).toBe('OperationOutcome');
    expect(response.headers['content-disposition']).toBeUndefined();
  });
});

describe('a large space', () => {
  it('arrives in many chunks, whole (2,000 observations, the production page size)', async () => {
    const big = await seedSpace(server, 'exbig');
    for (let i = 0; i < 2000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => server.put(observation(`exbig-o${i + j}`, big.patientId))));
    }
    const listener = http.createServer(server.carnet.app);
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = listener.address() as AddressInfo;
      const token = await server.patientToken(big.patientId);
      // The order in which the server asks for pages and the client receives bytes.
      const timeline: string[] = [];
      const handle = server.carnet.pipeline.handle.bind(server.carnet.pipeline);
      const spy = jest.spyOn(server.carnet.pipeline, 'handle').mockImplementation((request, caller) => {
        timeline.push(`page ${request.path}`);
        return handle(request, caller);
      });
      const chunks: Buffer[] = await new Promise((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: '/account/export', headers: { authorization: `Bearer ${token}` } }, (response) => {
          const received: Buffer[] = [];
          response.on('data', (chunk: Buffer) => {
            received.push(chunk);
            timeline.push('bytes');
          });
          response.on('end', () => resolve(received));
          response.on('error', reject);
        }).on('error', reject);
      }).finally(() => spy.mockRestore()) as Buffer[];
      const isPage = (event: string) => event.endsWith('/$everything');
      expect(timeline.filter(isPage).length).toBeGreaterThanOrEqual(21); // 100 a page
      expect(timeline.slice(0, timeline.indexOf('bytes')).filter(isPage).length).toBeLessThanOrEqual(2); // the first bytes came while 19 pages were still to be read
      expect(chunks.length).toBeGreaterThan(10);
      const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Bundle;
      expect(ofType(bundle, 'Observation').length).toBe(2001);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  }, 120_000);
});

describe('a failure after the first byte', () => {
  it('aborts the connection: no Bundle that looks whole', async () => {
    const app = express().get(
      '/account/export',
      accountExportRoute({
        authenticate: async () => ({ kind: 'patient', sub: 'p', scopes: [], patientId: 'p' }),
        export: {
          stream: async (_caller, write) => {
            await write('{"resourceType":"Bundle","type":"collection","entry":[');
            throw new Error('the database went away');
          },
        },
        logger: pino({ level: 'silent' }),
      }),
    );
    await expect(supertest(app).get('/account/export').then((response) => response.text)).rejects.toThrow();
  });
});
