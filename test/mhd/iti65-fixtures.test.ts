/**
 * Every ITI-65 submission of the IHE MHD 4.2 and ANS PDSm/PDSm4DMP examples (test/fixtures), sent
 * as published once the resources it references exist (CONTRACT §9): the table says what each
 * one gets — 200 and its transaction-response, or the precise OperationOutcome of what makes it
 * a bad submission here. The documents the replacement examples replace are seeded as they stood
 * before the replacement (the published instances show them after it: `superseded`, and IHE's
 * without a subject, PDSm's without the custodian 3.1.1 requires), so that the submission is what
 * supersedes them. Where a published bundle is refused, a variant row shows the one change that
 * makes it acceptable (its stated size or hash, PDSm 3.1.1's custodian), so the path behind the
 * refusal is exercised too.
 */
import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, DocumentReference, Resource } from 'fhir/r4';
import { get, send, startTestServer, type TestServer } from '../support/server';
import { postBundle, readFixture } from '../bundle/fixtures';
import { isPatientData } from '../../src/access/vocabulary';

const NIR = '123456789012345';

const PDSM_REPLACE = 'fr-ans/pdsm/branch-add-exemples-iti65__Bundle-bundle-exemple-comprehensiveprovidedocument-replace.json';
const DMP_SUBMISSION = 'fr-ans/pdsm4dmp/Bundle-example-td2-iti65-lot-soumission.json';
const DMP_REPLACE = 'fr-ans/pdsm4dmp/Bundle-example-td2-1-remplacement.json';

interface Row {
  fixture: string;
  /** A variant of the published bundle: what the row changes, and how. */
  variant?: [string, (bundle: Bundle) => void];
  status: number;
  /** The expression the first issue names (errors only). */
  expression?: string;
  /** The document a replacement supersedes. */
  supersedes?: string;
}

const TABLE: Row[] = [
  { fixture: 'ihe-mhd/Bundle-ex-minimalProvideDocumentBundleSimple.json', status: 200 },
  // the SubmissionSet and the document name no patient: nothing to file them under
  { fixture: 'ihe-mhd/Bundle-ex-minimalProvideDocumentBundleSimpleContained.json', status: 422, expression: 'Bundle.entry[0].resource.subject' },
  { fixture: 'ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleSimple.json', status: 200 },
  { fixture: 'ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleMultiple.json', status: 200 },
  { fixture: 'ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleComplete.json', status: 200 },
  // its patient is http://example.org/fhir/Patient/fdoc-patient: a patient of another server
  { fixture: 'ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleDocument.json', status: 422, expression: 'Bundle.entry[0].resource.subject' },
  { fixture: 'ihe-mhd/Bundle-ex-unContainedComprehensiveProvideDocumentBundleComplete.json', status: 200 },
  // its attachment states 24 bytes for the 23 of "Thanks for all the fish"
  { fixture: 'ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleReplace.json', status: 422, expression: 'Bundle.entry[2].resource.content[0].attachment.size' },
  { fixture: 'ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleReplace.json', variant: ['with the size of its bytes', (bundle) => setAttachment(bundle, 2, { size: 23 })], status: 200, supersedes: 'ex-documentreference' },
  // PUT List with neither id nor criteria
  { fixture: 'ihe-mhd/Bundle-ex-ProvideDocumentBundle-addToFolder.json', status: 400, expression: 'Bundle.entry[2].request.url' },
  // their DocumentReference has no custodian, which PDSm 3.1.1 (profiles/README.md) requires: it fits no entry slice of the
  // pdsm-comprehensive-provide-document-bundle they claim (the examples were written for PDSm 3.1.0)
  { fixture: PDSM_REPLACE, status: 422, expression: 'Bundle.entry[1].resource.custodian' },
  // …and its attachment's hash is not the SHA-1 of its Binary's bytes ("Hello")
  { fixture: PDSM_REPLACE, variant: ['with a custodian', (bundle) => setCustodian(bundle, 1)], status: 422, expression: 'Bundle.entry[1].resource.content[0].attachment.hash' },
  {
    fixture: PDSM_REPLACE,
    variant: ['with a custodian and the hash of its bytes', (bundle) => (setCustodian(bundle, 1), setAttachment(bundle, 1, { hash: createHash('sha1').update('Hello').digest('base64') }))],
    status: 200,
    supersedes: 'doc-old',
  },
  { fixture: DMP_SUBMISSION, status: 422, expression: 'Bundle.entry[1].resource.custodian' },
  { fixture: DMP_SUBMISSION, variant: ['with a custodian', (bundle) => setCustodian(bundle, 1)], status: 200 },
  { fixture: DMP_REPLACE, status: 422, expression: 'Bundle.entry[1].resource.custodian' },
  { fixture: DMP_REPLACE, variant: ['with a custodian', (bundle) => setCustodian(bundle, 1)], status: 200, supersedes: 'doc-x-id' },
];

/** Changes the attachment of the DocumentReference of entry `index`. */
function setAttachment(bundle: Bundle, index: number, change: Record<string, unknown>): void {
  Object.assign((bundle.entry?.[index].resource as DocumentReference).content[0].attachment, change);
}

/** The DocumentReference of entry `index` kept by the directory's Organization (PDSm 3.1.1: custodian 1..1). */
function setCustodian(bundle: Bundle, index: number): void {
  (bundle.entry?.[index].resource as DocumentReference).custodian = { reference: 'Organization/ex-organization' };
}

/** The IG Publisher left meta.versionId/lastUpdated on contained resources (dom-4). */
function withoutContainedMeta<T extends Resource>(resource: T): T {
  for (const inner of (resource as { contained?: Resource[] }).contained ?? []) delete inner.meta;
  return resource;
}

describe('ITI-65: the published submissions, as a table', () => {
  let server: TestServer;
  let op: string;
  let dmpPatient: string;

  /** The directory by PUT; patient data straight through the store, as the loader's (patient data takes no client id, CONTRACT §2). */
  const seed = async (resource: Resource) => {
    const { compartment } = server.session({ kind: 'system', sub: 'seed', clientId: 'seed', scopes: [], operator: true });
    if (!isPatientData(resource.resourceType, (type) => compartment.has(type))) {
      const res = await send(server, 'put', `${resource.resourceType}/${resource.id}`, op, resource);
      expect(res.status).toBeLessThan(300);
      return;
    }
    await server.put(resource, 'client:mhd-source');
  };
  /** A replaced document as it stood before: current, of its patient, kept by a custodian (PDSm 3.1.1 requires one). */
  const current = (resource: Resource, subject: string): DocumentReference => ({
    ...withoutContainedMeta(resource as DocumentReference),
    status: 'current',
    subject: { reference: subject },
    custodian: { reference: 'Organization/ex-organization' },
  });

  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('mhd-source');
    for (const file of ['ihe-mhd/Patient-ex-patient.json', 'ihe-mhd/Practitioner-ex-practitioner.json', 'ihe-mhd/Organization-ex-organization.json', 'ihe-mhd/DocumentReference-ex-DocumentReferenceComprehensive.json', 'fr-ans/pdsm/Patient-fr-patient-123.json']) {
      await seed(withoutContainedMeta(readFixture<Resource>(file)));
    }
    await seed(current(readFixture('ihe-mhd/DocumentReference-ex-documentreference.json'), 'Patient/ex-patient'));
    await seed(current(readFixture('fr-ans/pdsm/branch-add-exemples-iti65__DocumentReference-doc-old.json'), 'Patient/fr-patient-123'));
    const ins = await send(server, 'post', 'Patient', op, { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: NIR }], name: [{ family: 'DMP' }] });
    expect(ins.status).toBe(201);
    dmpPatient = ins.body.id;
    await seed(current(readFixture('fr-ans/pdsm4dmp/DocumentReference-doc-x-id.json'), `Patient/${dmpPatient}`));
  });
  afterAll(() => server.close());

  const submissionSets = async () =>
    (await get(server, 'List?code=https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes|submissionset&_summary=count', op)).body.total as number;

  it.each(TABLE.map((row) => ({ ...row, expression: row.expression ?? '', name: `${row.fixture}${row.variant ? ` (${row.variant[0]})` : ''}` })))('$name → $status $expression', async ({ fixture, variant, status, expression, supersedes }) => {
    const bundle = readFixture<Bundle>(fixture);
    variant?.[1](bundle);
    const before = await submissionSets();
    const res = await postBundle(server, op, bundle);
    if (status === 200) expect(res.body.issue ?? []).toEqual([]);
    expect(res.status).toBe(status);
    if (expression) {
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].expression).toContain(expression);
      expect(await submissionSets()).toBe(before); // all or nothing
      return;
    }
    const entries = res.body.entry as BundleEntry[];
    expect(res.body.type).toBe('transaction-response');
    expect(entries).toHaveLength(bundle.entry?.length ?? 0);
    for (const entry of entries) expect(entry.response?.status).toMatch(/^20[01]/);
    expect(await submissionSets()).toBe(before + 1);
    if (supersedes) expect((await get(server, `DocumentReference/${supersedes}`, op)).body.status).toBe('superseded');
    // every document filed under the SubmissionSet's patient (PDSm4DMP names it by INS-NIR only)
    const set = entries.map((entry) => /(List\/[^/]+)\/_history\//.exec(entry.response?.location ?? '')?.[1]).find((location) => location !== undefined) as string;
    const list = (await get(server, set, op)).body;
    for (const item of list.entry ?? []) {
      const document = (await get(server, item.item.reference, op)).body as DocumentReference;
      if (document.resourceType === 'DocumentReference') expect(document.subject?.reference).toBe(list.subject.reference);
    }
    if (fixture.includes('pdsm4dmp')) expect(list.subject.reference).toBe(`Patient/${dmpPatient}`);
  });
});
