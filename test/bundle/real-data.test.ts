/**
 * Real data through POST /fhir: every Synthea bundle of the fixtures (hiv-2021
 * after its two batch bundles of practitioners and organizations) and the French
 * ANS transactions that are not MHD submissions, each after the resources it
 * references; then the data is findable. The IHE MHD and PDSm ITI-65 submissions
 * are the table of test/mhd/iti65-fixtures.test.ts.
 *
 * @slow — one to two minutes
 */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { get, send, startTestServer, type TestServer } from '../support/server';
import { fixtureFiles, postBundle, readFixture } from './fixtures';
import { isPatientData } from '../../src/access/vocabulary';

type Entry = BundleEntry & { response: { status: string } };

/** The IG Publisher left meta.versionId/lastUpdated on contained resources of doc-old (dom-4); the Bundles under test load unchanged. */
function withoutContainedMeta<T extends Resource>(resource: T): T {
  const contained = (resource as { contained?: Resource[] }).contained;
  for (const inner of contained ?? []) delete inner.meta;
  return resource;
}

describe('real data', () => {
  let server: TestServer;
  let op: string;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('hospital-loader');
  });
  afterAll(() => server.close());

  /**
   * Stores a fixture under its own id: the directory by PUT; patient data, which takes no client id
   * over the API (CONTRACT §2), validated ($validate) then written through the store as the loader's.
   */
  const seed = async (resource: Resource) => {
    const { compartment } = server.session({ kind: 'system', sub: 'seed', clientId: 'seed', scopes: [], operator: true });
    if (!isPatientData(resource.resourceType, (type) => compartment.has(type))) {
      const res = await send(server, 'put', `${resource.resourceType}/${resource.id}`, op, resource);
      expect([res.status, res.body.issue]).toEqual([expect.any(Number), undefined]);
      expect(res.status).toBeLessThan(300);
      return;
    }
    const checked = await send(server, 'post', `${resource.resourceType}/$validate`, op, resource);
    expect((checked.body.issue ?? []).filter((issue: { severity: string }) => issue.severity === 'error' || issue.severity === 'fatal')).toEqual([]);
    await server.put(resource, 'client:hospital-loader');
  };

  describe('Synthea', () => {
    const hiv = fixtureFiles('synthea/hiv-2021');
    const infoFirst = [...hiv.filter((f) => /Information/.test(f)), ...hiv.filter((f) => !/Information/.test(f))];
    const smart = fixtureFiles('synthea/smart-2019');
    const patientIds: Record<string, string> = {};

    const loads = async (file: string) => {
      const bundle = readFixture<Bundle>(file);
      const res = await postBundle(server, op, bundle, 'return=minimal');
      expect(res.status).toBe(200);
      expect(res.body.type).toBe(`${bundle.type}-response`);
      const entries = res.body.entry as Entry[];
      expect(entries).toHaveLength(bundle.entry?.length ?? 0);
      const failed = entries.filter((entry) => !/^20[01]/.test(entry.response.status));
      expect(failed.map((entry) => JSON.stringify(entry.response).slice(0, 300))).toEqual([]);
      const patientEntry = entries.find((entry) => /\/Patient\//.test(entry.response.location ?? ''));
      if (patientEntry) patientIds[file] = /\/Patient\/([^/]+)/.exec(patientEntry.response.location ?? '')![1];
    };

    it.each(infoFirst)('%s loads', loads);

    it('loading the hiv-2021 batch bundles again creates nothing (ifNoneExist)', async () => {
      const bundle = readFixture<Bundle>(infoFirst[0]);
      bundle.entry = bundle.entry!.slice(0, 300);
      const res = await postBundle(server, op, bundle, 'return=minimal');
      const statuses = new Set((res.body.entry as Entry[]).map((entry) => entry.response.status));
      expect([...statuses]).toEqual(['200 OK']);
    });

    // smart-2019 POSTs Organizations with the same Synthea identifiers (no ifNoneExist), so it comes after
    it.each(smart)('%s loads', loads);

    it('a loaded patient’s observations are found by patient, with references rewritten', async () => {
      const file = smart.find((f) => /Dannie_Schmitt/.test(f))!;
      const id = patientIds[file];
      expect(id).toBeDefined();
      const found = await get(server, `Observation?patient=${id}&_count=5&_total=accurate`, op);
      expect(found.status).toBe(200);
      expect(found.body.total).toBe(readFixture<Bundle>(file).entry!.filter((e) => e.resource?.resourceType === 'Observation').length);
      const observation = found.body.entry[0].resource;
      expect(observation.subject.reference).toBe(`Patient/${id}`);
      expect(observation.encounter.reference).toMatch(/^Encounter\/[0-9a-f-]{36}$/);
    });

    it('conditional references of hiv-2021 point at the practitioners of the batch bundles', async () => {
      const file = infoFirst.find((f) => /Lawerence6/.test(f))!;
      const id = patientIds[file];
      const encounters = await get(server, `Encounter?subject=Patient/${id}&_count=3&_include=Encounter:participant`, op);
      expect(encounters.status).toBe(200);
      const encounter = encounters.body.entry.find((e: { search: { mode: string } }) => e.search.mode === 'match').resource;
      expect(encounter.participant[0].individual.reference).toMatch(/^Practitioner\/[0-9a-f-]{36}$/);
      const practitioner = encounters.body.entry.find((e: { resource: Resource }) => e.resource.resourceType === 'Practitioner');
      expect(practitioner).toBeDefined();
      const npi = practitioner.resource.identifier[0].value;
      const byNpi = await get(server, `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|${npi}`, op);
      expect(byNpi.body.entry).toHaveLength(1); // the batch's ifNoneExist never duplicated it
      const documents = await get(server, `DocumentReference?patient=${id}&_count=1`, op);
      expect(documents.body.entry[0].resource.author[0].reference).toMatch(/^Practitioner\//);
    });

  });

  describe('French PDSm / PDSm4DMP', () => {
    beforeAll(async () => {
      // the PDSm documents doc-old and doc-x-id are not seeded here: they claim PDSm 3.1.1, whose custodian 1..1
      // they lack (see profiles/README.md); the replacements that need them are in test/mhd/iti65-fixtures.test.ts
      for (const file of ['pdsm/Patient-fr-patient-123.json']) {
        const resource = withoutContainedMeta(readFixture<Resource>(`fr-ans/${file}`));
        await seed(resource);
      }
      const ins = { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '123456789012345' }], name: [{ family: 'DMP' }] };
      expect((await send(server, 'post', 'Patient', op, ins)).status).toBe(201);
    });

    it('the cercle-de-soins transaction carries an empty string: 422 naming the element, nothing kept', async () => {
      const versions = async () => (await server.carnet.db('resource_versions').count<{ count: string }[]>('* as count'))[0].count;
      const before = await versions();
      const res = await postBundle(server, op, readFixture('fr-ans/cercle-de-soins/Bundle-cds-bundle-transaction-creation-example.json'));
      expect(res.status).toBe(422);
      expect(res.body.issue[0].expression).toContain('Bundle.entry[0].resource.name.extension[0].extension[1].value.ofType(string)');
      expect(await versions()).toBe(before);
    });

    it.each(['DocumentReference-example-td3-1a-cr-consultation', 'DocumentReference-example-td3-1a-fhir-document', 'DocumentReference-example-td3-1a-ordonnance'])(
      '%s: its malformed conditional subject (system, no value) is a clear 422',
      async (name) => {
        const resource = readFixture<Resource>(`fr-ans/pdsm4dmp/${name}.json`);
        const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:0d3c2a4e-0000-4000-8000-000000000001', resource, request: { method: 'POST', url: 'DocumentReference' } }] };
        const res = await postBundle(server, op, bundle);
        expect(res.status).toBe(422);
        expect(res.body.issue[0].diagnostics).toMatch(/system without a value/);
        expect(res.body.issue[0].expression).toContain('Bundle.entry[0].resource.subject.reference');
      },
    );
  });
});
