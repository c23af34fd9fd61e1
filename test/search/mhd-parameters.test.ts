/**
 * IHE MHD ITI-67 (Find Document References) and ITI-66 (Find Document Lists),
 * CONTRACT §9: every parameter the contract names, over the IHE MHD 4.2 and
 * ANS PDSm / PDSm4DMP examples of test/fixtures, stored as plain resources
 * (no ITI-65 handler) through production's store and indexers, and searched
 * with production's registry (R4 base + the SearchParameters of profiles/).
 * Each row: a query and every id it matches (so every other stored one is a
 * non-match). Then the access rules on the same data, over HTTP.
 *
 * What the test adds to the fixtures, and why (the examples carry no author
 * names, and the PDSm4DMP ones name their patient by a conditional reference
 * that an ITI-65 recipient would resolve):
 * | fixture                                   | change                                                                  |
 * |-------------------------------------------|-------------------------------------------------------------------------|
 * | PDSm4DMP DocumentReferences               | `subject` `Patient?identifier=<INS-NIR>…` → `Patient/dmp-patient`       |
 * | Patient `dmp-patient` (new)               | the INS-NIR 123456789012345 of the PDSm4DMP contained source patient   |
 * | Practitioner `ex-practitioner`, contained `#in-author` / `#in-sender` | name Moehrke, John (their telecom is JohnMoehrke@…) |
 * | `doc-x-id` contained `#practitioner-author` | name Dupont, Jeanne                                                   |
 * | `example-td3-1a-ordonnance`               | its contained PractitionerRole author points at a contained Practitioner `#pract-ord`, Lefèvre, Hélène |
 */
import type { CapabilityStatement, Resource } from 'fhir/r4';
import { readFixture } from '../support/fixtures-dir';
import { get } from '../support/server';
import { searchServer, type Doc, type SearchServer } from './fixtures';
import { choice, practitioner, roleResources } from '../access/builders';

const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const NIR_CLAIRE = '180017505600103'; // PDSm fr-patient-123
const NIR_DMP = '123456789012345'; // PDSm4DMP examples
const MOEHRKE = [{ family: 'Moehrke', given: ['John'] }];

type Json = Record<string, unknown>;
const named = (contained: Json[], id: string, name: Json[]) => contained.map((c) => (c.id === id ? { ...c, name } : c));

/** A fixture, with the test's additions (the header's table). */
function fixture(relative: string, change: (doc: Json) => Json = (doc) => doc): Doc {
  return change(readFixture<Json>(relative)) as Doc;
}
const dmp = (doc: Json): Json => ({ ...doc, subject: { reference: 'Patient/dmp-patient' } });

const IHE = (name: string, change?: (doc: Json) => Json) => fixture(`ihe-mhd/${name}.json`, change);
const PDSM = (name: string) => fixture(`fr-ans/pdsm/${name}.json`);
const PDSM4DMP = (name: string, change: (doc: Json) => Json = (doc) => doc) => fixture(`fr-ans/pdsm4dmp/${name}.json`, (doc) => change(dmp(doc)));
const withAuthorName = (id: string, name: Json[]) => (doc: Json) => ({ ...doc, contained: named(doc.contained as Json[], id, name) });

const ordonnanceAuthor = (doc: Json): Json => {
  const contained = (doc.contained as Json[]).map((c) => (c.resourceType === 'PractitionerRole' ? { ...c, practitioner: { reference: '#pract-ord' } } : c));
  return { ...doc, contained: [...contained, { resourceType: 'Practitioner', id: 'pract-ord', name: [{ family: 'Lefèvre', given: ['Hélène'] }] }] };
};

const DIRECTORY: Doc[] = [
  IHE('Practitioner-ex-practitioner', (doc) => ({ ...doc, name: MOEHRKE })),
  IHE('Organization-ex-organization'),
  IHE('Patient-ex-patient'),
  PDSM('branch-add-exemples-iti65__Patient-fr-patient-123'),
  { resourceType: 'Patient', id: 'dmp-patient', identifier: [{ system: NIR, value: NIR_DMP }], name: [{ family: 'DMP', given: ['Exemple'] }] },
];

const DOCUMENTS: Doc[] = [
  IHE('DocumentReference-ex-DocumentReferenceComprehensive', withAuthorName('in-author', MOEHRKE)),
  IHE('DocumentReference-ex-DocumentReferenceComprehensiveDelayedAssembly', withAuthorName('in-author', MOEHRKE)),
  IHE('DocumentReference-ex-DocumentReferenceComprehensiveOnDemand'),
  IHE('DocumentReference-ex-DocumentReferenceComprehensiveWithBinary'),
  IHE('DocumentReference-ex-DocumentReferenceMinimal'),
  IHE('DocumentReference-ex-DocumentReferenceMinimalEncounter'),
  IHE('DocumentReference-ex-DocumentReferenceSimplifiedPublish'),
  IHE('DocumentReference-ex-DocumentReferenceUnContained'),
  IHE('DocumentReference-ex-DocumentReferenceUnContainedFully'),
  IHE('DocumentReference-ex-documentreference'),
  IHE('DocumentReference-ex-documentreference2'),
  PDSM('DocumentReference-PDSmSimplifiedExample'),
  PDSM('DocumentReference-exemple-pdsm-documentreference'),
  PDSM('branch-add-exemples-iti65__DocumentReference-doc-old'),
  PDSM4DMP('DocumentReference-doc-x-id', withAuthorName('practitioner-author', [{ family: 'Dupont', given: ['Jeanne'] }])),
  PDSM4DMP('DocumentReference-example-annexe-docref-cda'),
  PDSM4DMP('DocumentReference-example-annexe-docref-fhir'),
  PDSM4DMP('DocumentReference-example-td2-iti105-publication-simplifiee'),
  PDSM4DMP('DocumentReference-example-td3-1a-cr-consultation'),
  PDSM4DMP('DocumentReference-example-td3-1a-fhir-document'),
  PDSM4DMP('DocumentReference-example-td3-1a-ordonnance', ordonnanceAuthor),
];

const LISTS: Doc[] = [
  IHE('List-ex-compEmailPackage'),
  IHE('List-ex-compFolder'),
  IHE('List-ex-compSubmissionSetFull', withAuthorName('in-sender', MOEHRKE)),
  IHE('List-ex-compSubmissionSetFullUnContained'),
  IHE('List-ex-compSubmissionSetList'),
  IHE('List-ex-list'),
  IHE('List-ex-minimalFolder'),
  IHE('List-ex-minimalSubmissionSet'),
  PDSM('List-ExampleFolder'),
  PDSM('List-ExampleSubmissionSet'),
];

/** Short names of the documents, for readable rows. */
const D = {
  comp: 'ex-DocumentReferenceComprehensive',
  delayed: 'ex-DocumentReferenceComprehensiveDelayedAssembly',
  onDemand: 'ex-DocumentReferenceComprehensiveOnDemand',
  withBinary: 'ex-DocumentReferenceComprehensiveWithBinary',
  simplified: 'ex-DocumentReferenceSimplifiedPublish',
  unContained: 'ex-DocumentReferenceUnContained',
  fully: 'ex-DocumentReferenceUnContainedFully',
  pdsmSimple: 'PDSmSimplifiedExample',
  pdsm: 'exemple-pdsm-documentreference',
  old: 'doc-old',
  x: 'doc-x-id',
  cda: 'example-annexe-docref-cda',
  fhir: 'example-annexe-docref-fhir',
  iti105: 'example-td2-iti105-publication-simplifiee',
  cr: 'example-td3-1a-cr-consultation',
  fhirDoc: 'example-td3-1a-fhir-document',
  ord: 'example-td3-1a-ordonnance',
};
const IHE_COMPREHENSIVE = [D.comp, D.delayed, D.onDemand, D.withBinary, D.unContained, D.fully];
const DMP = [D.x, D.cda, D.fhir, D.iti105, D.cr, D.fhirDoc, D.ord];

const sorted = (ids: string[]) => [...ids].sort();
const enc = encodeURIComponent;

describe('IHE MHD search parameters (ITI-67, ITI-66)', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await searchServer();
    for (const doc of [...DIRECTORY, ...DOCUMENTS, ...LISTS]) await b.put(doc);
  }, 120_000);
  afterAll(() => b.close());

  it('registers the project parameters from profiles/ next to the R4 ones', () => {
    const codes = (type: string) => b.registry.forType(type).map((def) => def.code);
    expect(codes('DocumentReference')).toEqual(expect.arrayContaining(['creation', 'author.given', 'author.family']));
    expect(codes('List')).toEqual(expect.arrayContaining(['designationType', 'sourceId', 'source.given', 'source.family']));
    expect(b.registry.get('DocumentReference', 'creation')?.definition.url).toBe('https://profiles.ihe.net/ITI/MHD/SearchParameter/DocumentReference-Creation');
  });

  it.each([
    ['DocumentReference', ['patient', 'status', 'date', 'period', 'type', 'category', 'setting', 'facility', 'event', 'security-label', 'format', 'related', 'author.given', 'author.family', 'creation']],
    ['List', ['patient', 'code', 'date', 'designationType', 'source.given', 'source.family', 'sourceId', 'status', 'identifier']],
  ])('the CapabilityStatement claims every %s parameter of CONTRACT §9, with its definition', async (type, names) => {
    const statement = (await b.server.request.get('/fhir/metadata')).body as CapabilityStatement;
    const claimed = statement.rest?.[0].resource?.find((r) => r.type === type)?.searchParam ?? [];
    for (const name of names) expect(claimed.find((p) => p.name === name)?.definition).toEqual(expect.stringMatching(/^https?:\/\//));
    expect(claimed.find((p) => p.name === 'author.given' || p.name === 'source.given')?.type).toBe('string');
  });

  // ITI-67: DocumentReference
  it.each([
    ['patient', `patient=fr-patient-123`, [D.pdsmSimple, D.pdsm, D.old]],
    ['patient', `patient=Patient/ex-patient`, [...IHE_COMPREHENSIVE, D.simplified]],
    ['patient.identifier (INS-NIR)', `patient.identifier=${NIR}|${NIR_DMP}`, DMP],
    ['patient.identifier + status', `patient.identifier=${NIR}|${NIR_DMP}&status=current`, DMP.filter((id) => id !== D.x)],
    ['patient.identifier, other NIR', `patient.identifier=${NIR}|${NIR_CLAIRE}`, [D.pdsmSimple, D.pdsm, D.old]],
    ['patient.identifier, unknown NIR', `patient.identifier=${NIR}|100000000000000`, []],
    ['status', 'status=superseded', [D.old, D.x]],
    ['date', 'date=ge2025-01-01&date=lt2026', [D.pdsmSimple, D.pdsm, D.old]],
    ['date (DocumentReference.date, not creation)', 'date=lt2020-06-01', [D.onDemand, D.withBinary]],
    ['date, one day', 'date=2024-11-20', [D.cda, D.fhir, D.cr, D.fhirDoc, D.ord]],
    ['period', 'period=lt2024', [D.comp, D.delayed, D.fully]],
    // a period without end is ongoing: it overlaps every later interval
    ['period, overlap', 'period=gt2025-04-21&period=lt2025-04-30', [D.pdsm, D.fhir, D.fhirDoc, D.ord]],
    ['type', 'type=http://loinc.org|11488-4', [D.x, D.cda, D.iti105, D.cr]],
    ['type + patient.identifier + status', `type=http://loinc.org|11488-4&patient.identifier=${NIR}|${NIR_DMP}&status=current`, [D.cda, D.iti105, D.cr]],
    ['type, two codes', 'type=http://loinc.org|34133-9,http://loinc.org|57833-6', [D.pdsm, D.old, D.ord]],
    ['category (TRE_A03)', 'category=https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument|11', [D.x, D.cda, D.fhir, D.cr, D.fhirDoc]],
    ['category (LOINC)', 'category=http://loinc.org|11369-6', IHE_COMPREHENSIVE],
    ['setting', 'setting=https://mos.esante.gouv.fr/NOS/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice|ETABLISSEMENT', [D.pdsmSimple, D.pdsm, D.old]],
    ['setting (SNOMED)', 'setting=http://snomed.info/sct|394802001', [D.x, D.cda, D.fhir, D.cr, D.fhirDoc, D.ord]],
    ['facility', 'facility=https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite|SA01', [D.pdsm, D.old]],
    ['facility (SNOMED)', 'facility=http://snomed.info/sct|22232009', [D.x]],
    ['event', 'event=http://terminology.hl7.org/CodeSystem/v3-ActCode|ACCTRECEIVABLE', [D.comp, D.delayed, D.fully]],
    ['security-label', 'security-label=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R', [D.withBinary]],
    ['security-label (TRE_A07 system)', 'security-label=https://mos.esante.gouv.fr/NOS/TRE_A07-StatusVisibiliteDocument/FHIR/TRE-A07-StatusVisibiliteDocument|N', [D.pdsm, D.old]],
    ['format (code only)', 'format=urn:ihe:iti:xds-sd:pdf:2008', [D.pdsmSimple, D.old, D.cr, D.ord]],
    ['format (system|code)', 'format=http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode|urn:ihe:iti:xds-sd:pdf:2008', [D.cr, D.ord]],
    ['related (referenceIdList, :identifier)', 'related:identifier=urn:ietf:rfc:3986|urn:oid:1.2.840.113556.1.8000.2554.17917.46600.21181.17878.33419.62048.57128.2759', [D.comp, D.delayed, D.fully]],
    ['creation (attachment.creation, not date)', 'creation=lt2020-06-01', [D.withBinary]],
    ['creation', 'creation=ge2025-04-01&creation=lt2025-05-01', [D.pdsmSimple, D.pdsm]],
    ['creation, to the minute', 'creation=2024-11-20T10:35:00%2B01:00', [D.ord]],
    // author: a stored Practitioner through the chain, a contained one through the project parameter
    ['author.family (stored and contained)', 'author.family=moehrke', [D.comp, D.delayed, D.fully]],
    ['author.given + author.family', 'author.given=john&author.family=moehrke', [D.comp, D.delayed, D.fully]],
    ['author.given (contained Practitioner)', 'author.given=jeanne', [D.x]],
    ['author.family (contained role → contained Practitioner, accents)', 'author.family=lefevre', [D.ord]],
    ['author.family:exact', 'author.family:exact=Dupont', [D.x]],
    ['author.family:exact, other case', 'author.family:exact=dupont', []],
    ['author.family: a contained Practitioner that is not the author', 'author.family=leclerc', []],
    ['author:Practitioner.family (typed chain: stored authors only)', 'author:Practitioner.family=moehrke', [D.fully]],
  ])('ITI-67 %s: DocumentReference?%s', async (_what, query, expected) => {
    expect(sorted(await b.ids('DocumentReference', query))).toEqual(sorted(expected));
  });

  // ITI-66: List
  it.each([
    ['code submissionset', 'code=submissionset', ['ex-compEmailPackage', 'ex-compSubmissionSetFull', 'ex-compSubmissionSetFullUnContained', 'ex-compSubmissionSetList', 'ex-minimalSubmissionSet', 'ExampleSubmissionSet']],
    ['code folder (system|code)', 'code=https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes|folder', ['ex-compFolder', 'ex-minimalFolder', 'ExampleFolder']],
    ['patient', 'patient=ex-patient', ['ex-compEmailPackage', 'ex-compFolder', 'ex-compSubmissionSetFull', 'ex-compSubmissionSetFullUnContained', 'ex-compSubmissionSetList']],
    ['patient.identifier', `patient.identifier=${NIR}|${NIR_CLAIRE}`, ['ExampleFolder', 'ExampleSubmissionSet']],
    ['patient.identifier + code', `patient.identifier=${NIR}|${NIR_CLAIRE}&code=submissionset`, ['ExampleSubmissionSet']],
    ['date', 'date=ge2025', ['ExampleFolder', 'ExampleSubmissionSet']],
    ['date, before', 'date=lt2005', ['ex-compEmailPackage', 'ex-compFolder', 'ex-compSubmissionSetFull', 'ex-compSubmissionSetFullUnContained', 'ex-compSubmissionSetList', 'ex-minimalSubmissionSet']],
    ['designationType', 'designationType=http://snomed.info/sct|284548004', ['ex-compFolder']],
    ['designationType + code', 'designationType=http://snomed.info/sct|225728007&code=folder', ['ex-compFolder']],
    ['designationType (TRE_R02)', 'designationType=https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite|SA05', ['ExampleSubmissionSet']],
    ['sourceId (value only)', 'sourceId=urn:oid:1.2.3.4', ['ex-compEmailPackage', 'ex-compSubmissionSetFull', 'ex-compSubmissionSetFullUnContained', 'ex-compSubmissionSetList', 'ex-minimalSubmissionSet']],
    ['sourceId (system|value)', 'sourceId=urn:oid:1.2.250.1.213.1.1.1|SRC-01', ['ExampleSubmissionSet']],
    ['sourceId, other system', 'sourceId=urn:oid:9.9|SRC-01', []],
    ['status', 'status=current&code=folder', ['ex-compFolder', 'ex-minimalFolder', 'ExampleFolder']],
    ['status, none', 'status=retired', []],
    ['identifier (entryUUID)', 'identifier=urn:ietf:rfc:3986|urn:uuid:2158bc9d-3d34-4503-9253-1e0383f828ff', ['ex-compSubmissionSetFull']],
    ['identifier (uniqueId)', 'identifier=urn:ietf:rfc:3986|urn:uuid:33333333-dddd-eeee-ffff-444444444444', ['ExampleSubmissionSet']],
    ['source.family (stored and contained)', 'source.family=moehrke', ['ex-compSubmissionSetFull', 'ex-compSubmissionSetFullUnContained']],
    ['source.given + code', 'source.given=john&code=submissionset', ['ex-compSubmissionSetFull', 'ex-compSubmissionSetFullUnContained']],
    ['source.given, no such name', 'source.given=jeanne', []],
    ['source:Practitioner.family (typed chain: stored sources only)', 'source:Practitioner.family=moehrke', ['ex-compSubmissionSetFullUnContained']],
  ])('ITI-66 %s: List?%s', async (_what, query, expected) => {
    expect(sorted(await b.ids('List', query))).toEqual(sorted(expected));
  });

  it.each([
    ['DocumentReference', `patient.identifier=${NIR}|${NIR_CLAIRE}&status=current&_include=DocumentReference:subject`, ['Patient/fr-patient-123']],
    ['DocumentReference', `_id=${D.fully}&_include=DocumentReference:author`, ['Practitioner/ex-practitioner']],
    ['List', `patient=fr-patient-123&code=submissionset&_include=List:item`, [`DocumentReference/${D.pdsm}`]],
    ['DocumentReference', `_id=${D.pdsm}&_revinclude=List:item`, ['List/ExampleFolder', 'List/ExampleSubmissionSet']],
  ])('%s?%s includes %j', async (type, query, expected) => {
    const result = await b.search(type, query);
    expect(sorted(result.included.map((row) => `${row.resourceType}/${row.id}`))).toEqual(sorted(expected));
  });

  it.each([
    ['DocumentReference', 'author.given:missing=false', 'the chain only (stored authors)', [D.fully]],
    ['DocumentReference', 'author.unknown=x', '400', undefined],
  ])('%s?%s: %s', async (type, query, _what, expected) => {
    if (expected) expect(sorted(await b.ids(type, query))).toEqual(sorted(expected));
    else await expect(b.search(type, query, { handling: 'strict' })).rejects.toMatchObject({ status: 400 });
  });

  describe('access (CONTRACT §4.3): hidden documents are absent from ITI-67 matches and totals', () => {
    const claire = 'fr-patient-123';
    const byNir = `patient.identifier=${enc(`${NIR}|${NIR_CLAIRE}`)}`;
    const doctor = practitioner('dr-mhd-a', ['10']);
    const blocked = practitioner('dr-mhd-b', ['10']);
    beforeAll(async () => {
      for (const caller of [doctor, blocked]) {
        await b.server.put({ resourceType: 'Practitioner', id: caller.practitionerId } as Resource);
        for (const role of roleResources(caller)) await b.server.put(role);
      }
      await b.server.put(choice('authorize', claire, { actors: [`Practitioner/${doctor.practitionerId}`] }), `Patient/${claire}`);
      await b.server.put(choice('authorize', claire, { actors: [`Practitioner/${blocked.practitionerId}`] }), `Patient/${claire}`);
      await b.server.put(choice('hide-document', claire, { documents: [D.pdsm] }), `Patient/${claire}`);
      await b.server.put(choice('block', claire, { actors: [`Practitioner/${blocked.practitionerId}`] }), `Patient/${claire}`);
    });

    const found = async (url: string, token: string) => {
      const res = await get(b.server, url, token);
      expect(res.status).toBe(200);
      const entries = (res.body.entry ?? []) as { resource: Resource; search?: { mode?: string } }[];
      return { total: res.body.total as number, ids: sorted(entries.filter((e) => e.search?.mode !== 'include').map((e) => e.resource.id as string)), entries };
    };

    it.each([
      ['the patient', () => b.server.patientToken(claire), [D.pdsmSimple, D.pdsm]],
      ['an authorized doctor (the document is hidden from every practitioner)', () => b.server.practitionerToken(doctor.practitionerId), [D.pdsmSimple]],
      ['a doctor the patient blocked', () => b.server.practitionerToken(blocked.practitionerId), []],
    ])('DocumentReference?patient.identifier=…&status=current as %s', async (_who, token, expected) => {
      const { total, ids } = await found(`DocumentReference?${byNir}&status=current`, await token());
      expect(ids).toEqual(sorted(expected));
      expect(total).toBe(expected.length);
    });

    it.each([
      ['type', `DocumentReference?${byNir}&status=current&type=${enc('http://loinc.org|34133-9')}`],
      ['security-label', `DocumentReference?${byNir}&security-label=N`],
      ['creation', `DocumentReference?${byNir}&creation=2025-04-25`],
    ])('a hidden document matched by %s is absent for the doctor, present for the patient', async (_what, url) => {
      const doctorSees = await found(url, await b.server.practitionerToken(doctor.practitionerId));
      expect(doctorSees.ids).not.toContain(D.pdsm);
      expect(doctorSees.total).toBe(doctorSees.ids.length);
      const patientSees = await found(url, await b.server.patientToken(claire));
      expect(patientSees.ids).toContain(D.pdsm);
    });

    it('ITI-66 as the doctor: the submission set is served without its entry for the hidden document, and _include leaves it out', async () => {
      const { ids, entries } = await found(`List?${byNir}&code=submissionset&_include=List:item`, await b.server.practitionerToken(doctor.practitionerId));
      expect(ids).toEqual(['ExampleSubmissionSet']);
      const list = entries.find((e) => e.resource.id === 'ExampleSubmissionSet')?.resource as { entry?: { item?: { reference?: string } }[] };
      expect((list.entry ?? []).map((e) => e.item?.reference)).not.toContain(`DocumentReference/${D.pdsm}`);
      expect(entries.filter((e) => e.resource.resourceType === 'DocumentReference')).toEqual([]);
    });

    it('naming the patient by id is a 403 for the blocked doctor; by INS-NIR it finds nothing, as for a NIR nobody holds', async () => {
      const token = await b.server.practitionerToken(blocked.practitionerId);
      expect((await get(b.server, `DocumentReference?patient=${claire}&status=current`, token)).status).toBe(403);
      const unknown = await found(`DocumentReference?patient.identifier=${enc(`${NIR}|100000000000000`)}&status=current`, token);
      const known = await found(`DocumentReference?${byNir}&status=current`, token);
      expect([known.total, known.ids]).toEqual([unknown.total, unknown.ids]);
      expect(known.total).toBe(0);
      expect((await found(`List?${byNir}&code=submissionset`, token)).total).toBe(0);
    });
  });
});
