/**
 * IHE MHD end to end (CONTRACT §9, issue "IHE MHD", Done when): a laboratory with a
 * backend-services token pushes an ITI-65 submission for a patient it knows only by INS-NIR;
 * the patient and the GP she authorized find it (ITI-67) and fetch the PDF (ITI-68); a
 * replacement supersedes it; the patient's history shows each submission as one Import
 * (ITI-65) naming its SubmissionSet. Then the rules that bind a submission's entries, as a
 * table: one patient, one SubmissionSet, replacements — each a precise 422 and nothing kept, and
 * a replacement refused with one answer whatever the reason (a document that does not exist and
 * one the laboratory may not see answer the same).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AuditEvent, Binary, Bundle, BundleEntry, DocumentReference, List } from 'fhir/r4';
import { choice, TREG15 } from '../access/builders';
import { assertion, clientKey, clientsFile, postToken, tokenForm, type ClientKey } from '../support/backend-client';
import { FHIR_JSON, get, send, startTestServer, type TestServer } from '../support/server';

const INS_NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const MHD = 'https://profiles.ihe.net/ITI/MHD/StructureDefinition/';
const LAB_SCOPE = 'system/DocumentReference.cruds system/Binary.cruds system/List.cruds system/Patient.rs';

/** A small PDF (its bytes are what ITI-68 must give back). */
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');

interface SubmissionOptions {
  patient: string; // a reference: Patient/id or the INS-NIR conditional one
  replaces?: string;
  documentSubject?: string;
  folderSubject?: string;
  securityContext?: string;
  secondSubmissionSet?: boolean;
}

const uid = () => `urn:oid:1.2.250.1.999.${Date.now()}.${Math.floor(Math.random() * 1e9)}`;

/** An ITI-65 Minimal submission of one PDF lab report by the laboratory's Organization. */
function submission(options: SubmissionOptions): Bundle {
  const [list, document, binary, folder] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()].map((id) => `urn:uuid:${id}`);
  const submissionSet = (fullUrl: string): BundleEntry => ({
    fullUrl,
    request: { method: 'POST', url: 'List' },
    resource: {
      resourceType: 'List',
      meta: { profile: [`${MHD}IHE.MHD.Minimal.SubmissionSet`] },
      extension: [{ url: 'https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId', valueIdentifier: { value: 'urn:oid:1.2.250.1.999' } }],
      identifier: [{ use: 'usual', system: 'urn:ietf:rfc:3986', value: uid(), type: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/IHE.MHD.MHDIdentifierType', code: 'uniqueId' }] } }],
      status: 'current',
      mode: 'working',
      code: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'submissionset' }] },
      subject: { reference: options.patient },
      date: '2026-12-02T10:00:00+01:00',
      entry: [{ item: { reference: document } }],
    } as List,
  });
  const entries: BundleEntry[] = [
    submissionSet(list),
    {
      fullUrl: document,
      request: { method: 'POST', url: 'DocumentReference' },
      resource: {
        resourceType: 'DocumentReference',
        meta: { profile: [`${MHD}IHE.MHD.Minimal.DocumentReference`] },
        masterIdentifier: { system: 'urn:ietf:rfc:3986', value: uid() },
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '11502-2', display: 'CR d\'examens biologiques' }] },
        subject: { reference: options.documentSubject ?? options.patient },
        author: [{ reference: 'Organization/lab-org' }],
        ...(options.replaces ? { relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${options.replaces}` } }] } : {}),
        content: [{ attachment: { contentType: 'application/pdf', url: binary, size: PDF.length, hash: createHash('sha1').update(PDF).digest('base64') } }],
      } as DocumentReference,
    },
    {
      fullUrl: binary,
      request: { method: 'POST', url: 'Binary' },
      resource: { resourceType: 'Binary', contentType: 'application/pdf', data: PDF.toString('base64'), ...(options.securityContext ? { securityContext: { reference: options.securityContext } } : {}) } as Binary,
    },
  ];
  if (options.folderSubject) {
    entries.push({
      fullUrl: folder,
      request: { method: 'POST', url: 'List' },
      resource: {
        resourceType: 'List',
        meta: { profile: [`${MHD}IHE.MHD.Minimal.Folder`] },
        status: 'current',
        mode: 'working',
        code: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'folder' }] },
        subject: { reference: options.folderSubject },
        entry: [{ item: { reference: document } }],
      } as List,
    });
  }
  if (options.secondSubmissionSet) entries.push(submissionSet(`urn:uuid:${randomUUID()}`));
  return { resourceType: 'Bundle', type: 'transaction', meta: { profile: [`${MHD}IHE.MHD.Minimal.ProvideBundle`] }, entry: entries };
}

describe('ITI-65 → ITI-67 → ITI-68, by a laboratory with a backend-services token', () => {
  let server: TestServer;
  let registry: ReturnType<typeof clientsFile>;
  let key: ClientKey;
  let lab: string;
  let operator: string;
  let patientToken: string;
  let gp: string;
  let alice: string;
  let bob: string;
  const nir = '276057512345678';
  const byNir = `Patient?identifier=${INS_NIR}|${nir}`;
  const post = (token: string, bundle: Bundle) => server.request.post('/fhir').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle));
  /** The DocumentReference a submission created, from its transaction-response. */
  const createdDocument = (res: { body: Bundle }) => /DocumentReference\/([^/]+)\/_history/.exec(res.body.entry?.[1]?.response?.location ?? '')?.[1] as string;

  beforeAll(async () => {
    key = await clientKey('RS384');
    registry = clientsFile([{ client_id: 'lab', jwks: { keys: [key.publicJwk] }, scope: LAB_SCOPE, organization: 'Organization/lab-org' }]);
    server = await startTestServer({ CLIENTS_FILE: registry.file });
    operator = await server.systemToken('directory', 'system/*.*');
    for (const resource of [
      { resourceType: 'Organization', id: 'lab-org', name: 'Laboratoire de la Gare' },
      { resourceType: 'PractitionerRole', id: 'r-gp', active: true, practitioner: { reference: 'Practitioner/dr-gp' }, code: [{ coding: [{ system: TREG15, code: '10' }] }] },
    ]) {
      expect((await send(server, 'put', `${resource.resourceType}/${resource.id}`, operator, resource)).status).toBe(201);
    }
    alice = (await send(server, 'post', 'Patient', operator, { resourceType: 'Patient', identifier: [{ system: INS_NIR, value: nir }], name: [{ family: 'Martin', given: ['Alice'] }] })).body.id;
    bob = (await send(server, 'post', 'Patient', operator, { resourceType: 'Patient', name: [{ family: 'Bernard' }] })).body.id;
    patientToken = await server.patientToken(alice);
    gp = await server.practitionerToken('dr-gp');
    expect((await send(server, 'post', 'Consent', patientToken, choice('authorize', alice, { actors: ['Practitioner/dr-gp'] }))).status).toBe(201);
    const token = await postToken(server.request, tokenForm(await assertion(key, 'lab'), LAB_SCOPE));
    expect(token.status).toBe(200);
    lab = token.body.access_token;
  });
  afterAll(async () => {
    await server.close();
    registry.remove();
  });

  it('the submission, the search, the retrieval, the replacement and the history', async () => {
    // ITI-65: the patient is named only by INS-NIR
    const first = await post(lab, submission({ patient: byNir }));
    expect(first.body.issue ?? []).toEqual([]);
    expect(first.status).toBe(200);
    expect(first.body.type).toBe('transaction-response');
    const documentId = createdDocument(first);

    // ITI-67, by the patient and by her GP
    for (const token of [patientToken, gp]) {
      const found = await get(server, `DocumentReference?patient=${alice}&status=current`, token);
      expect(found.status).toBe(200);
      expect(found.body.entry.map((entry: BundleEntry) => entry.resource?.id)).toEqual([documentId]);
    }
    const byIdentifier = await get(server, `DocumentReference?patient.identifier=${INS_NIR}|${nir}`, gp);
    expect(byIdentifier.body.total).toBe(1);

    // ITI-68: the attachment URL answers the PDF's bytes
    const document = (await get(server, `DocumentReference/${documentId}`, gp)).body as DocumentReference;
    const url = document.content[0].attachment.url as string;
    expect(url).toMatch(/Binary\/[^/]+$/);
    const path = `/fhir/${url.slice(url.indexOf('Binary/'))}`;
    const pdf = await server.request.get(path).set('Authorization', `Bearer ${gp}`).set('Accept', 'application/pdf').buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers['content-type']).toMatch(/^application\/pdf/);
    expect(Buffer.compare(pdf.body as Buffer, PDF)).toBe(0);

    // the replacement supersedes the first version
    const second = await post(lab, submission({ patient: byNir, replaces: documentId }));
    expect(second.body.issue ?? []).toEqual([]);
    expect(second.status).toBe(200);
    const replacement = createdDocument(second);
    expect((await get(server, `DocumentReference/${documentId}`, patientToken)).body.status).toBe('superseded');
    const current = await get(server, `DocumentReference?patient=${alice}&status=current`, gp);
    expect(current.body.entry.map((entry: BundleEntry) => entry.resource?.id)).toEqual([replacement]);

    // the patient's history: one Import (ITI-65) per submission, naming its SubmissionSet
    const history = await get(server, `AuditEvent?patient=Patient/${alice}&_count=50`, patientToken);
    expect(history.status).toBe(200);
    const imports = (history.body.entry as BundleEntry[]).map((entry) => entry.resource as AuditEvent).filter((event) => event.subtype?.some((coding) => coding.code === 'ITI-65'));
    expect(imports).toHaveLength(2);
    for (const event of imports) {
      expect(event.type).toMatchObject({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110107' });
      expect(event.action).toBe('C');
      expect(event.outcome).toBe('0');
      const job = event.entity?.find((entity) => entity.role?.code === '20');
      expect(job?.what?.reference).toMatch(/^List\//);
      expect(event.entity?.find((entity) => entity.role?.code === '1')?.what?.reference).toBe(`Patient/${alice}`);
    }
    const sets = imports.map((event) => event.entity?.find((entity) => entity.role?.code === '20')?.what?.reference);
    expect(new Set(sets).size).toBe(2);
  });

  describe('the rules that bind a submission, each all or nothing', () => {
    const submissionSets = async () => (await get(server, `List?patient=${alice}&_summary=count`, operator)).body.total as number;

    it.each([
      ['a DocumentReference of another patient', () => ({ documentSubject: `Patient/${bob}` }), 'Bundle.entry[1].resource.subject'],
      ['a Folder of another patient', () => ({ folderSubject: `Patient/${bob}` }), 'Bundle.entry[3].resource.subject'],
      ['a Binary whose securityContext is another patient', () => ({ securityContext: `Patient/${bob}` }), 'Bundle.entry[2].resource.securityContext'],
      ['two SubmissionSets', () => ({ secondSubmissionSet: true }), 'Bundle.entry'],
    ])('%s → 422 naming the entry', async (_name, options, expression) => {
      const before = await submissionSets();
      const res = await post(lab, submission({ patient: `Patient/${alice}`, ...options() }));
      expect(res.status).toBe(422);
      expect(res.body.issue[0].expression).toContain(expression);
      expect(await submissionSets()).toBe(before);
    });

    it("a Binary whose securityContext is the submission's patient is accepted", async () => {
      const res = await post(lab, submission({ patient: `Patient/${alice}`, securityContext: `Patient/${alice}` }));
      expect(res.body.issue ?? []).toEqual([]);
      expect(res.status).toBe(200);
    });

    it('a replacement is refused with one answer, whatever the reason, and nothing is kept', async () => {
      const own = createdDocument(await post(lab, submission({ patient: `Patient/${alice}` })));
      const ofBob = createdDocument(await post(lab, submission({ patient: `Patient/${bob}` })));
      const superseded = createdDocument(await post(lab, submission({ patient: `Patient/${alice}` })));
      expect((await post(lab, submission({ patient: `Patient/${alice}`, replaces: superseded }))).status).toBe(200);
      // a document of Alice's that another author wrote: the laboratory may not replace it
      const hospital = await server.systemToken('hospital', 'system/DocumentReference.cruds system/Binary.cruds');
      const foreign = await send(server, 'post', 'DocumentReference', hospital, {
        resourceType: 'DocumentReference',
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
        subject: { reference: `Patient/${alice}` },
        content: [{ attachment: { contentType: 'text/plain', data: 'SGVsbG8=' } }],
      });
      expect(foreign.status).toBe(201);
      const cases: Array<[string, string]> = [
        ['a document that does not exist', randomUUID()],
        ["another author's document", foreign.body.id],
        ["another patient's document", ofBob],
        ['a superseded document', superseded],
      ];
      const answers: unknown[] = [];
      for (const [name, target] of cases) {
        const before = await submissionSets();
        const res = await post(lab, submission({ patient: `Patient/${alice}`, replaces: target }));
        expect([name, res.status]).toEqual([name, 422]);
        expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1].resource.relatesTo[0].target']);
        expect(await submissionSets()).toBe(before);
        answers.push(res.body);
      }
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect((await get(server, `DocumentReference/${own}`, patientToken)).body.status).toBe('current');
      expect((await get(server, `DocumentReference/${foreign.body.id}`, patientToken)).body.status).toBe('current');
    });
  });
});
