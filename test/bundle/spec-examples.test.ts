/**
 * Published Bundles: the official HL7 R4 transaction example and Microsoft
 * FHIR server's transaction/batch test inputs. Invalid ones must give a 4xx
 * naming the problem, never a 500; valid ones load.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { get, send, startTestServer, type TestServer } from '../support/server';
import { FIXTURES, postBundle, readFixture } from './fixtures';

type Entry = BundleEntry & { response: { status: string } };
const MS = 'edge-cases/microsoft-fhir-server';
/** What `op` (systemToken('conformance-client')) is recorded as: the seeded rows are its own. */
const CLIENT = 'client:conformance-client';
const statuses = (body: Bundle) => (body.entry as Entry[]).map((entry) => entry.response.status.slice(0, 3)).join(' ');

describe('published Bundles', () => {
  let server: TestServer;
  let op: string;
  const versions = async () => Number((await server.carnet.db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM resource_versions')).rows[0].n);

  // each describe gets its own database, so the expected statuses read against an empty server
  beforeEach(async () => {
    if (!server) {
      server = await startTestServer();
      op = await server.systemToken('conformance-client');
    }
  });
  const restart = async () => {
    await server?.close();
    server = undefined as unknown as TestServer;
  };

  describe('HL7 Bundle-bundle-transaction.json', () => {
    const bundle = () => readFixture<Bundle>('hl7-r4-examples/bundles/Bundle-bundle-transaction.json');

    it('fails as a whole on a server that lacks the resources it updates and deletes', async () => {
      const before = await versions();
      const res = await postBundle(server, op, bundle());
      expect(res.status).toBe(404); // DELETE Patient/234 runs first
      expect(res.body.issue[0].expression).toContain('Bundle.entry[5]');
      expect(await versions()).toBe(before);
    });

    it('with its resources present, fails only on ValueSet/$lookup, which is not a transaction route', async () => {
      // patient data takes no client id over the API (CONTRACT §2): the example's Patients are seeded, its PUT Patient/123 updates one
      for (const id of ['234', '123a', '12334', '123']) await server.put({ resourceType: 'Patient', id } as Resource, CLIENT);
      await server.put({ resourceType: 'Patient', id: '123a', active: true } as Resource, CLIENT);
      const res = await postBundle(server, op, bundle());
      expect(res.status).toBe(404);
      expect(res.body.issue[0].expression).toContain('Bundle.entry[7]');
    });

    it('without the $lookup entry, processes every interaction of the example', async () => {
      const example = bundle();
      example.entry = example.entry!.filter((entry) => !entry.request?.url.includes('$lookup'));
      const res = await postBundle(server, op, example);
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('transaction-response');
      // POST, conditional POST, PUT (update), conditional PUT (create), PUT If-Match 2, DELETE, conditional DELETE, search, read
      expect(statuses(res.body)).toBe('201 201 200 201 200 204 204 200 200');
      expect((await get(server, 'Patient/234', op)).status).toBe(410);
      const again = await postBundle(server, op, { ...example, entry: example.entry!.filter((entry) => entry.request?.method === 'POST') });
      expect(statuses(again.body)).toBe('201 200'); // ifNoneExist found the first run's patient
    });
  });

  /** In this order, on one database: later inputs find what earlier ones created. */
  describe('Microsoft FHIR server test inputs', () => {
    beforeAll(async () => {
      await restart();
      server = await startTestServer();
      op = await server.systemToken('conformance-client');
      // the Patients the inputs PUT by id exist (patient data takes no client id over the API, CONTRACT §2)
      for (const id of ['123', '456456', '9F746C86-48B4-424D-9F92-1E46215E35D5']) await server.put({ resourceType: 'Patient', id } as Resource, CLIENT);
    });
    afterAll(restart);
    const raw = (file: string) => fs.readFileSync(path.join(FIXTURES, MS, file), 'utf8').replace(/^\uFEFF/, '');
    const postRaw = (file: string) => server.request.post('/fhir').set('Authorization', `Bearer ${op}`).set('Content-Type', 'application/fhir+json').send(raw(file));

    it.each<[string, number, RegExp]>([
      ['Normative__Bundle-InvalidBundleType.json', 400, /type "invalid-type"/],
      ['Normative__Bundle-TypeMissing.json', 400, /no type/],
      ['Normative__Bundle-TransactionWithInvalidBundleEntry.json', 400, /not valid JSON/],
      ['Normative__Bundle-TransactionForRollBack.json', 404, /Bundle\.entry\[1\].*Patient\/12345/],
      ['Normative__Bundle-TransactionForRollBackWithDelete.json', 404, /Bundle\.entry\[0\]/],
      ['Normative__Bundle-TransactionWithInvalidProcessingRoutes.json', 404, /Bundle\.entry\[1\].*\$lookup/],
      ['Normative__Bundle-TransactionWithInvalidProcessingRecord.json', 400, /Bundle\.entry\[5\]/],
      ['Normative__Bundle-TransactionWithInvalidResourceType.json', 400, /unknown resource type Patientt/],
      ['Normative__Bundle-TransactionWithForeignReferenceInResourceBody.json', 400, /names no entry/],
      ['Normative__Bundle-TransactionWithConditionalReferenceInResourceBody.json', 412, /matches no Patient/],
      ['Normative__Bundle-TransactionWithConditionalReferenceReferringToSameResource.json', 400, /Bundle\.entry\[1\] modifies/],
      ['Normative__Bundle-TransactionWithMultipleEntriesModifyingSameResource.json', 400, /Bundle\.entry\[2\] modifies Patient\/123/],
      ['Normative__Bundle-TransactionWithMultipleResourcesWithSameFullUrl.json', 400, /same fullUrl/],
      ['Normative__Bundle-TransactionWithPOSTFullUrlMatchesWithPUTRequestUrl.json', 400, /fullUrl "Patient\/123"/],
      ['Normative__Bundle-TransactionWithConditionalCreateAndReference.json', 422, /Empty strings/],
      ['Normative__Bundle-TransactionWithConditionalUpdateAndReference.json', 422, /Bundle\.entry\[0\].*Empty strings/], // its Patient goes first (entries.ts phaseOf)
      ['Normative__Bundle-TransactionWithMetaHistory.json', 404, /MedicationRequest\/metaHistoryTest is not known/], // patient data: no create-on-update
    ])('%s → %i, nothing persisted', async (file, status, message) => {
      const before = await versions();
      const res = await postRaw(file);
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue.map((issue: { diagnostics: string }) => issue.diagnostics).join(' ')).toMatch(message);
      expect(await versions()).toBe(before);
    });

    it.each<[string, string]>([
      ['Normative__Bundle-TransactionWithValidBundleEntry.json', '201 201 200 201'], // Patient/123 exists
      ['R4__Bundle-TransactionWithReferenceInResourceBody.json', '201 201 201 201 201 201'],
      ['Normative__Bundle-TransactionWithAllValidRoutes.json', '201 201 200 200 200 200'], // Patient/456456 exists; the conditional PUT finds ValidBundleEntry's patient
    ])('%s loads: %s', async (file, expected) => {
      const res = await postRaw(file);
      expect(res.body.issue ?? []).toEqual([]);
      expect(res.status).toBe(200);
      expect(statuses(res.body)).toBe(expected);
    });

    it.each<[string, string]>([
      ['Normative__Bundle-Batch.json', '201 200 200 200 400 404 204 404 200 404'], // Patient/123 and identifier 456456 exist by now
      ['Normative__Bundle-BatchWithInvalidEleEnums.json', '422 200 422 200 400 404 204 404 200 404'],
      ['Normative__Bundle-BatchWithConditionalUpdateByIdentifier.json', '422 422 422 422'],
      ['Normative__Bundle-MissingIdentifier.json', '400'],
      ['Normative__Bundle-BinaryPatch.json', '200 200'],
      ['Normative__Bundle-FhirPatch.json', '200 200 200'],
      ['Normative__Bundle-BatchWithDuplicatedItems.json', '200 200 200 200 404 204 404 200 404'],
    ])('batch %s answers per entry: %s', async (file, expected) => {
      const res = await postRaw(file);
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('batch-response');
      expect(statuses(res.body)).toBe(expected);
      for (const entry of res.body.entry as Entry[]) if (!entry.response.status.startsWith('2')) expect(entry.response.outcome?.resourceType).toBe('OperationOutcome');
    });

    it('the FHIRPath Patch batch changed the patient', async () => {
      const patient = await get(server, 'Patient/9F746C86-48B4-424D-9F92-1E46215E35D5', op);
      expect(patient.body.gender).toBe('female');
      const race = patient.body.extension.find((e: { url: string }) => /us-core-race$/.test(e.url));
      expect(race.extension.find((e: { url: string }) => e.url === 'ombCategory').valueCoding.code).toBe('2054-5');
    });
  });
});
