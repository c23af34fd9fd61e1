/**
 * The IHE MHD 4.2.3 and ANS PDSm 3.1.1 profiles of profiles/ (CONTRACT §9), through the validation
 * module's public API:
 * - every DocumentReference, List and Bundle example of the fixtures (ihe-mhd/, fr-ans/pdsm*) checked
 *   against the profile it claims (an IHE example that claims none: the MHD profile its id names, if
 *   any) — the profile adds no error, except for the published examples that do not meet the version
 *   of the profile Carnet carries (DEVIATIONS, each with its reason and the precise error);
 * - broken variants of conforming examples, each an error at the precise expression;
 * - what the engine cannot apply of these profiles is a note of a known kind, never an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../support/fixtures-dir';
import { createValidator, isErrorIssue, type CarnetValidator } from '../../src/validation';
import type { IssueDetail } from '../../src/kernel/errors';

const MHD = 'https://profiles.ihe.net/ITI/MHD/StructureDefinition/';
const PDSM = 'https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const read = (file: string): Json => JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as Json;

let validator: CarnetValidator;
beforeAll(async () => {
  validator = await createValidator();
});

const withoutClaims = (resource: Json): Json => {
  const copy = structuredClone(resource);
  if (copy.meta) delete copy.meta.profile;
  if (copy.meta && Object.keys(copy.meta).length === 0) delete copy.meta;
  return copy;
};
const key = (issue: IssueDetail) => `${issue.code}|${issue.expression?.[0]}|${issue.message}`;

/** The errors the profiles add to those of the base specification: [code, expression, what the message starts with]. */
function profileErrors(resource: Json, profiles: string[] = []): Array<[string, string | undefined, string]> {
  const base = new Set(validator.validate(withoutClaims(resource)).filter(isErrorIssue).map(key));
  return validator
    .validate(resource, { profiles })
    .filter(isErrorIssue)
    .filter((issue) => !base.has(key(issue)))
    .map((issue) => [issue.code, issue.expression?.[0], issue.message.split(': ')[0]]);
}

// ---------------------------------------------------------------------------------------------
// 1. the published examples

const DIRS = ['ihe-mhd', 'fr-ans/pdsm', 'fr-ans/pdsm4dmp'];
const OURS = (url: string) => url.startsWith(MHD) || url.startsWith(PDSM);

/** The profile an example is checked against: the MHD or PDSm one it claims, else the MHD profile its id names. */
function profileOf(resource: Json): string | undefined {
  const claimed = (resource.meta?.profile ?? []) as string[];
  if (claimed.length) return claimed.find(OURS);
  const id = String(resource.id ?? '');
  const named = /comprehensive/i.test(id) ? 'Comprehensive' : /minimal/i.test(id) ? 'Minimal' : undefined;
  const kind = resource.resourceType === 'DocumentReference' ? 'DocumentReference' : undefined;
  return named && kind ? `${MHD}IHE.MHD.${named}.${kind}` : undefined;
}

const examples = DIRS.flatMap((dir) =>
  fs
    .readdirSync(path.join(FIXTURES, dir))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `${dir}/${name}`),
)
  .map((file) => ({ file, resource: read(file) }))
  .filter(({ resource }) => ['DocumentReference', 'List', 'Bundle'].includes(resource.resourceType))
  .map(({ file, resource }) => ({ file, resource, profile: profileOf(resource) }))
  .filter((example): example is { file: string; resource: Json; profile: string } => example.profile !== undefined && validatorKnows(example.profile));

function validatorKnows(url: string): boolean {
  // the MHD response / audit / query profiles the examples also claim are not carried (not ITI-65 input)
  return fs.existsSync(path.resolve(__dirname, '../../profiles', `StructureDefinition-${url.split('/').pop()}.json`));
}

const DOC_WITHOUT_CUSTODIAN: Array<[string, string | undefined, string]> = [['required', 'DocumentReference.custodian', 'DocumentReference.custodian']];
const ENTRY_OUTSIDE_SLICES = (index: number): Array<[string, string | undefined, string]> => [['structure', `Bundle.entry[${index}]`, 'Bundle.entry']];

/**
 * file → [reason, the errors the profile adds]. The examples were published against other versions of the
 * profiles than the ones Carnet carries (IHE MHD 4.2.3, PDSm 3.1.1, the versions named in profiles/README.md).
 */
const DEVIATIONS: Record<string, [string, Array<[string, string | undefined, string]>]> = {
  'ihe-mhd/DocumentReference-ex-DocumentReferenceSimplifiedPublish.json': [
    'built from an MHD source later than 4.2.3, whose example carries an identifier; 4.2.3 SimplifiedPublish has identifier 0..0',
    [['structure', 'DocumentReference.identifier', 'DocumentReference.identifier']],
  ],
  'fr-ans/pdsm/branch-add-exemples-iti65__DocumentReference-doc-old.json': ['written for PDSm 3.1.0: no custodian, which 3.1.1 requires', DOC_WITHOUT_CUSTODIAN],
  'fr-ans/pdsm/branch-add-exemples-iti65__Bundle-bundle-exemple-comprehensiveprovidedocument-replace.json': [
    'its DocumentReference has no custodian (PDSm 3.1.0), so it is in no slice of the closed entry slicing',
    ENTRY_OUTSIDE_SLICES(1),
  ],
  'fr-ans/pdsm4dmp/Bundle-example-td2-iti65-lot-soumission.json': ['its DocumentReference has no custodian (PDSm 3.1.0)', ENTRY_OUTSIDE_SLICES(1)],
  'fr-ans/pdsm4dmp/Bundle-example-td2-1-remplacement.json': ['its DocumentReference has no custodian (PDSm 3.1.0)', ENTRY_OUTSIDE_SLICES(1)],
  ...Object.fromEntries(
    [
      'DocumentReference-doc-x-id.json',
      'DocumentReference-example-annexe-docref-cda.json',
      'DocumentReference-example-annexe-docref-fhir.json',
      'DocumentReference-example-td2-iti105-publication-simplifiee.json',
      'DocumentReference-example-td3-1a-cr-consultation.json',
      'DocumentReference-example-td3-1a-fhir-document.json',
      'DocumentReference-example-td3-1a-ordonnance.json',
    ].map((name) => [`fr-ans/pdsm4dmp/${name}`, ['PDSm4DMP writes for PDSm 3.1.0: no custodian, which 3.1.1 requires', DOC_WITHOUT_CUSTODIAN]]),
  ),
};

describe('the published IHE MHD and ANS PDSm examples', () => {
  it('are all covered: every example of the table exists, every deviation is an example', () => {
    expect(examples.length).toBeGreaterThanOrEqual(40);
    for (const file of Object.keys(DEVIATIONS)) expect(examples.map((example) => example.file)).toContain(file);
  });

  it.each(examples.filter(({ file }) => !(file in DEVIATIONS)).map(({ file, resource, profile }) => [file, profile.split('/').pop(), resource, profile]))(
    '%s meets %s',
    (_file, _name, resource, profile) => {
      expect(profileErrors(resource as Json, [profile as string])).toEqual([]);
    },
  );

  it.each(Object.entries(DEVIATIONS).map(([file, [reason, errors]]) => [file, reason, errors]))('%s: %s', (file, _reason, errors) => {
    const example = examples.find((candidate) => candidate.file === file)!;
    expect(profileErrors(example.resource, [example.profile])).toEqual(errors);
  });
});

describe('an entry in no slice of a Provide Bundle', () => {
  it.each([
    ['fr-ans/pdsm4dmp/Bundle-example-td2-iti65-lot-soumission.json', 'DocumentRefs', 'Bundle.entry[1].resource.custodian'],
    ['ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleSimple.json', 'DocumentRefs', 'Bundle.entry[1].resource.masterIdentifier'],
  ])('%s: the issue says which slice it fails and where (%s, %s)', (file, slice, where) => {
    const bundle = read(file);
    if (file.startsWith('ihe-mhd')) delete entryOf(bundle, 'DocumentReference').resource.masterIdentifier;
    const [issue] = validator.validate(bundle).filter(isErrorIssue);
    expect(issue.expression).toEqual(['Bundle.entry[1]', where]);
    expect(issue.message).toMatch(new RegExp(`^Bundle\\.entry: this element matches no slice and the slicing is closed; as ${slice}: `));
  });
});

// ---------------------------------------------------------------------------------------------
// 2. broken variants

const comprehensiveDoc = () => read('ihe-mhd/DocumentReference-ex-DocumentReferenceComprehensive.json');
const minimalDoc = () => read('ihe-mhd/DocumentReference-ex-DocumentReferenceMinimal.json');
const minimalSet = () => read('ihe-mhd/List-ex-minimalSubmissionSet.json');
const unContainedSet = () => read('ihe-mhd/List-ex-compSubmissionSetFullUnContained.json');
const comprehensiveFolder = () => read('ihe-mhd/List-ex-compFolder.json');
const minimalFolder = () => read('ihe-mhd/List-ex-minimalFolder.json');
const minimalBundle = () => read('ihe-mhd/Bundle-ex-minimalProvideDocumentBundleSimple.json');
const comprehensiveBundle = () => read('ihe-mhd/Bundle-ex-comprehensiveProvideDocumentBundleSimple.json');
const pdsmDoc = () => read('fr-ans/pdsm/DocumentReference-exemple-pdsm-documentreference.json');
const pdsmSet = () => read('fr-ans/pdsm/List-ExampleSubmissionSet.json');

const change = (resource: Json, edit: (r: Json) => void): Json => {
  edit(resource);
  return resource;
};
const SOURCE_ID = `${MHD}ihe-sourceId`;
const entryOf = (bundle: Json, type: string) => bundle.entry.find((entry: Json) => entry.resource?.resourceType === type);

const VARIANTS: Array<[string, Json, string[], Array<[string, string | undefined, string]>]> = [
  ['Comprehensive DocumentReference without masterIdentifier', change(comprehensiveDoc(), (r) => delete r.masterIdentifier), [], [['required', 'DocumentReference.masterIdentifier', 'DocumentReference.masterIdentifier']]],
  ['Comprehensive DocumentReference without subject', change(comprehensiveDoc(), (r) => delete r.subject), [], [['required', 'DocumentReference.subject', 'DocumentReference.subject']]],
  ['Comprehensive DocumentReference without securityLabel', change(comprehensiveDoc(), (r) => delete r.securityLabel), [], [['required', 'DocumentReference.securityLabel', 'DocumentReference.securityLabel']]],
  ['Comprehensive DocumentReference without context.practiceSetting', change(comprehensiveDoc(), (r) => delete r.context.practiceSetting), [], [['required', 'DocumentReference.context.practiceSetting', 'DocumentReference.context.practiceSetting']]],
  ['Minimal DocumentReference entered-in-error (not in DocumentReferenceStats)', change(minimalDoc(), (r) => (r.status = 'entered-in-error')), [], [['code-invalid', 'DocumentReference.status', 'DocumentReference.status']]],
  ['Minimal DocumentReference with docStatus', change(minimalDoc(), (r) => (r.docStatus = 'final')), [], [['structure', 'DocumentReference.docStatus', 'DocumentReference.docStatus']]],
  ['Minimal DocumentReference with two contents', change(minimalDoc(), (r) => r.content.push(r.content[0])), [], [['structure', 'DocumentReference.content', 'DocumentReference.content']]],
  ['Minimal DocumentReference without attachment url', change(minimalDoc(), (r) => delete r.content[0].attachment.url), [], [['required', 'DocumentReference.content[0].attachment.url', 'DocumentReference.content.attachment.url']]],
  ['Minimal DocumentReference with a modifierExtension', change(minimalDoc(), (r) => (r.modifierExtension = [{ url: 'http://example.org/x', valueBoolean: true }])), [], [['structure', 'DocumentReference.modifierExtension', 'DocumentReference.modifierExtension']]],
  ['SubmissionSet whose code is folder', change(minimalSet(), (r) => (r.code.coding[0].code = 'folder')), [], [['value', 'List.code', 'List.code']]],
  ['SubmissionSet whose code is not an MHD list type', change(minimalSet(), (r) => (r.code = { coding: [{ system: 'http://loinc.org', code: '11488-4' }] })), [], [['value', 'List.code', 'List.code'], ['code-invalid', 'List.code', 'List.code']]],
  ['SubmissionSet without sourceId extension', change(minimalSet(), (r) => delete r.extension), [], [['required', 'List.extension', 'List.extension'], ['required', 'List.extension', 'List.extension:sourceId']]],
  ['SubmissionSet with a designationType but no sourceId', change(minimalSet(), (r) => (r.extension = [{ url: `${MHD}ihe-designationType`, valueCodeableConcept: { text: 'x' } }])), [], [['required', 'List.extension', 'List.extension:sourceId']]],
  ['SubmissionSet whose sourceId is a string (ihe-sourceId: value[x] only Identifier)', change(minimalSet(), (r) => (r.extension = [{ url: SOURCE_ID, valueString: 'urn:oid:1.2.3' }])), [], [['structure', 'List.extension[0].value.ofType(string)', 'Extension.value[x]']]],
  ['SubmissionSet without date', change(minimalSet(), (r) => delete r.date), [], [['required', 'List.date', 'List.date']]],
  ['SubmissionSet in mode snapshot', change(minimalSet(), (r) => (r.mode = 'snapshot')), [], [['value', 'List.mode', 'List.mode']]],
  ['SubmissionSet with two uniqueId (use usual) identifiers', change(minimalSet(), (r) => r.identifier.push({ use: 'usual', system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.3.4' })), [], [['structure', 'List.identifier', 'List.identifier:uniqueId']]],
  ['UnContained SubmissionSet without subject', change(unContainedSet(), (r) => delete r.subject), [], [['required', 'List.subject', 'List.subject']]],
  ['UnContained SubmissionSet without designationType', change(unContainedSet(), (r) => (r.extension = r.extension.filter((x: Json) => !String(x.url).endsWith('designationType')))), [], [['required', 'List.extension', 'List.extension:designationType']]],
  ['Comprehensive Folder without title', change(comprehensiveFolder(), (r) => delete r.title), [], [['required', 'List.title', 'List.title']]],
  ['Minimal Folder with a source', change(minimalFolder(), (r) => (r.source = { reference: 'Practitioner/ex-practitioner' })), [], [['structure', 'List.source', 'List.source']]],
  ['Provide Bundle of type batch', change(minimalBundle(), (r) => (r.type = 'batch')), [], [['value', 'Bundle.type', 'Bundle.type']]],
  ['Provide Bundle with a meta but no meta.profile, checked as $validate?profile= would', change(minimalBundle(), (r) => (r.meta = { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST' }] })), [`${MHD}IHE.MHD.Minimal.ProvideBundle`], [['required', 'Bundle.meta.profile', 'Bundle.meta.profile']]],
  ['Provide Bundle without SubmissionSet', change(minimalBundle(), (r) => (r.entry = r.entry.filter((e: Json) => e.resource?.resourceType !== 'List'))), [], [['required', 'Bundle.entry', 'Bundle.entry:SubmissionSet']]],
  ['Provide Bundle with an Observation entry', change(minimalBundle(), (r) => r.entry.push({ fullUrl: 'urn:uuid:0c287d32-01e3-4d87-9953-9fcc9404eb21', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } })), [], [['structure', 'Bundle.entry[4]', 'Bundle.entry']]],
  ['Provide Bundle that deletes its Patient (not in MHDprovidePatientActions)', change(minimalBundle(), (r) => (entryOf(r, 'Patient').request = { method: 'DELETE', url: 'Patient/ex-patient' })), [], [['structure', 'Bundle.entry[3]', 'Bundle.entry']]],
  ['Provide Bundle with two SubmissionSets', change(minimalBundle(), (r) => r.entry.push({ ...structuredClone(r.entry[0]), fullUrl: 'urn:uuid:5f1d7a3e-2b9c-4c1e-9d7a-0a4b6c8e2f10' })), [], [['structure', 'Bundle.entry', 'Bundle.entry:SubmissionSet']]],
  ['Comprehensive Provide Bundle whose DocumentReference has no masterIdentifier', change(comprehensiveBundle(), (r) => delete entryOf(r, 'DocumentReference').resource.masterIdentifier), [], [['structure', 'Bundle.entry[1]', 'Bundle.entry']]],
  ['PDSm DocumentReference without author', change(pdsmDoc(), (r) => delete r.author), [], [['required', 'DocumentReference.author', 'DocumentReference.author']]],
  ['PDSm DocumentReference without masterIdentifier (IHE Minimal, its base)', change(pdsmDoc(), (r) => delete r.masterIdentifier), [], [['required', 'DocumentReference.masterIdentifier', 'DocumentReference.masterIdentifier']]],
  ['PDSm DocumentReference whose isArchived is a string', change(pdsmDoc(), (r) => (r.extension = [{ url: `${PDSM}pdsm-ext-is-archived`, valueString: 'false' }])), [], [['structure', 'DocumentReference.extension[0].value.ofType(string)', 'Extension.value[x]']]],
  ['PDSm SubmissionSet without source', change(pdsmSet(), (r) => delete r.source), [], [['required', 'List.source', 'List.source']]],
];

describe('broken variants of conforming examples', () => {
  it.each(VARIANTS)('%s', (_case, resource, profiles, errors) => {
    expect(profileErrors(resource, profiles)).toEqual(errors);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. what is not applied

const NOTE_KINDS = [
  /: reference targets \(.+\) are not checked$/,
  /: aggregation \(contained\) is not checked$/,
  /: type profile \S+ is not applied$/,
  /: type profile \S+ is applied only through a profile discriminator$/,
  /: slice without a usable discriminator \(ignored\)$/,
  /: discriminator (type|profile|pattern) '\S+' is not supported \(slice ignored\)$/,
  /: closed slicing applied as open \(a slice is not supported\)$/,
  /: value set \S+ cannot be checked locally \(binding skipped\)$/,
  /: no fixed or pattern value for discriminator '\S+' \(not used for this slice\)$/,
  /: profile \S+ is not known here: the slice matches on type \w+ only$/,
  /: constraint \S+ has no FHIRPath expression \(not checked\)$/,
];

describe('what the engine cannot apply of these profiles', () => {
  const ours = () => Object.entries(validator.profileNotes()).filter(([url]) => OURS(url));

  it('covers the 27 MHD and PDSm StructureDefinitions of profiles/', () => {
    expect(ours().map(([url]) => url.split('/').pop()).sort()).toEqual(
      fs
        .readdirSync(path.resolve(__dirname, '../../profiles'))
        .filter((name) => /^StructureDefinition-(IHE\.MHD|ihe-|pdsm-)/.test(name))
        .map((name) => name.replace(/^StructureDefinition-|\.json$/g, ''))
        .sort(),
    );
    expect(ours()).toHaveLength(27);
  });

  it('is a note of a known kind, never an error', () => {
    const notes = ours().flatMap(([, list]) => list);
    expect(notes.filter((note) => !NOTE_KINDS.some((kind) => kind.test(note)))).toEqual([]);
  });

  it.each([
    // the Provide Bundle's entry slices are told apart by their resource's profile and request method
    [`${MHD}IHE.MHD.Minimal.ProvideBundle`, "Bundle.entry:Documents: no fixed or pattern value for discriminator 'request.method' (not used for this slice)"],
    [`${MHD}IHE.MHD.Minimal.ProvideBundle`, 'Bundle.entry:UpdateDocumentRefs: profile https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Patch.Parameters is not known here: the slice matches on type Parameters only'],
    // IHE's identifier profiles only lend their `use` to the identifier slices (the published examples do not meet them)
    [`${MHD}IHE.MHD.Minimal.DocumentReference`, 'DocumentReference.masterIdentifier: type profile https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.UniqueIdIdentifier is not applied'],
    [`${MHD}IHE.MHD.Comprehensive.DocumentReference`, 'DocumentReference.author: aggregation (contained) is not checked'],
    // PDSm slices context.related on a `type` pattern its slice does not give
    [`${PDSM}pdsm-comprehensive-document-reference`, 'DocumentReference.context.related:referenceIdList: slice without a usable discriminator (ignored)'],
  ])('%s: %s', (url, note) => {
    expect(validator.profileNotes()[url]).toContain(note);
  });

  it('leaves the closed entry slicing of the Provide Bundles closed: every slice is supported', () => {
    for (const [url, notes] of ours()) if (url.endsWith('ProvideBundle') || url.endsWith('provide-document-bundle')) expect(notes.filter((note) => note.includes('applied as open'))).toEqual([]);
  });
});
