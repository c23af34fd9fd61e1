/**
 * Profiles: the three Carnet profiles of profiles/, the rules for claimed,
 * requested and unknown profiles, and the generic machinery (differential
 * and snapshot profiles, cardinalities, fixed and pattern values, slices,
 * required bindings, constraints, profiles on profiles) with profiles written
 * to a temporary directory, as the Consent-kind profiles will be.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { baseStructureDefinitions } from '../../src/kernel/definitions';
import { createValidator, isErrorIssue, loadProfiles, type CarnetValidator } from '../../src/validation';

const CARNET = 'https://carnet.example.org/fhir/StructureDefinition/';
const INS = 'urn:oid:1.2.250.1.213.1.4.8';
const profilesDir = path.resolve(__dirname, '../../profiles');

const errorsOf = (validator: CarnetValidator, resource: unknown, profiles?: string[]) => validator.validate(resource, { profiles }).filter(isErrorIssue);

describe('the Carnet profiles of profiles/', () => {
  let validator: CarnetValidator;
  beforeAll(async () => {
    validator = await createValidator();
  });

  const patient = (identifier?: unknown[]) => ({ resourceType: 'Patient', meta: { profile: [`${CARNET}carnet-patient`] }, ...(identifier ? { identifier } : {}) });
  const practitioner = (identifier?: unknown[]) => ({ resourceType: 'Practitioner', meta: { profile: [`${CARNET}carnet-practitioner`] }, ...(identifier ? { identifier } : {}) });
  const document = (extra: Record<string, unknown>) => ({
    resourceType: 'DocumentReference',
    meta: { profile: [`${CARNET}carnet-documentreference`] },
    status: 'current',
    content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/1' } }],
    ...extra,
  });
  const subject = { reference: 'Patient/1' };
  const typed = (system: string, code: string) => ({ coding: [{ system, code }] });

  it('loads every profile of profiles/ (the three of this module among them), with nothing of the Carnet ones left uncompiled', () => {
    expect(loadProfiles(profilesDir).map((sd) => sd.url)).toEqual(
      expect.arrayContaining([`${CARNET}carnet-documentreference`, `${CARNET}carnet-patient`, `${CARNET}carnet-practitioner`]),
    );
    expect(validator.knownProfiles().sort()).toEqual(loadProfiles(profilesDir).map((sd) => sd.url).sort());
    // the IHE MHD and ANS PDSm profiles have notes of their own: test/validation/mhd-profiles.test.ts
    const carnetNotes = Object.entries(validator.profileNotes()).filter(([url]) => url.startsWith(CARNET));
    expect(carnetNotes.flatMap(([, notes]) => notes)).toEqual([]);
  });

  it.each(loadProfiles(profilesDir).map((sd) => [sd.id, sd]))('%s is itself a valid StructureDefinition', (_id, sd) => {
    expect(errorsOf(validator, sd)).toEqual([]);
  });

  it.each([
    ['Patient without identifier', 'carnet-pat-1', 'Patient', patient()],
    ['Patient with another identifier only', 'carnet-pat-1', 'Patient', patient([{ system: 'http://hospital.example.org/ipp', value: '42' }])],
    ['Patient with an INS-NIR without value', 'carnet-pat-1', 'Patient', patient([{ system: INS, _value: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } }])],
    ['Practitioner without national id', 'carnet-prac-1', 'Practitioner', practitioner([{ system: 'https://rpps.esante.gouv.fr', value: '10000000001' }])],
  ])('%s fails %s at %s', (_case, key, expression, resource) => {
    expect(errorsOf(validator, resource)).toEqual([expect.objectContaining({ code: 'invariant', expression: [expression], message: expect.stringMatching(new RegExp(`^${key}: `)) })]);
  });

  it('refuses a DocumentReference typed in SNOMED twice: outside the required JDV_J66 binding, and carnet-docref-1', () => {
    const errors = errorsOf(validator, document({ type: typed('http://snomed.info/sct', '371530004'), subject }));
    expect(errors.map((issue) => [issue.code, issue.expression?.[0], issue.message.split(':')[0]])).toEqual([
      ['code-invalid', 'DocumentReference.type', 'DocumentReference.type'],
      ['invariant', 'DocumentReference.type', 'carnet-docref-1'],
    ]);
  });

  it.each([
    ['Patient with an INS-NIR', patient([{ use: 'official', system: INS, value: '279035121518989' }])],
    ['Practitioner with an idNatPs', practitioner([{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810000000001' }])],
    ['DocumentReference typed in LOINC', document({ type: typed('http://loinc.org', '11488-4'), subject })],
    ['DocumentReference typed in TRE_A05', document({ type: typed('https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire', 'DOCPAT01'), subject })],
  ])('%s passes', (_case, resource) => {
    expect(errorsOf(validator, resource)).toEqual([]);
  });

  it('requires DocumentReference.type and .subject', () => {
    expect(errorsOf(validator, document({})).map((issue) => [issue.code, issue.expression?.[0]])).toEqual([
      ['required', 'DocumentReference.type'],
      ['required', 'DocumentReference.subject'],
    ]);
  });

  it('applies a profile named by the caller ($validate?profile=) as if claimed', () => {
    const errors = errorsOf(validator, { resourceType: 'Patient' }, [`${CARNET}carnet-patient`]);
    expect(errors).toEqual([expect.objectContaining({ code: 'invariant', expression: ['Patient'] })]);
  });

  it('accepts a versioned canonical of a known profile', () => {
    const resource = { resourceType: 'Patient', meta: { profile: [`${CARNET}carnet-patient|0.1.0`] } };
    expect(errorsOf(validator, resource)).toEqual([expect.objectContaining({ message: expect.stringMatching(/^carnet-pat-1: /) })]);
  });

  it('only warns about an unknown claimed profile', () => {
    const issues = validator.validate({ resourceType: 'Patient', meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] } });
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'not-found', expression: ['Patient.meta.profile[0]'] })]);
  });

  it('refuses an unknown profile named by the caller', () => {
    expect(errorsOf(validator, { resourceType: 'Patient' }, ['http://example.org/nope'])).toEqual([expect.objectContaining({ severity: 'error', code: 'not-found' })]);
  });

  it('refuses a profile of another resource type', () => {
    expect(errorsOf(validator, { resourceType: 'Practitioner' }, [`${CARNET}carnet-patient`])).toEqual([expect.objectContaining({ code: 'invalid', expression: ['Practitioner'] })]);
  });
});

// ---------------------------------------------------------------------------

const EX = 'http://example.org/fhir/StructureDefinition/';
const KIND = 'http://example.org/fhir/CodeSystem/kind';
const CONSENT_KIND = 'https://carnet.example.org/fhir/CodeSystem/consent-kind';

function profile(name: string, type: string, elements: ElementDefinition[], base = `http://hl7.org/fhir/StructureDefinition/${type}`): StructureDefinition {
  return { resourceType: 'StructureDefinition', id: name, url: `${EX}${name}`, name, status: 'draft', kind: 'resource', abstract: false, type, baseDefinition: base, derivation: 'constraint', differential: { element: elements } };
}

/** A snapshot profile: the base snapshot with one change, as an IG publisher would write it. */
function snapshotProfile(): StructureDefinition {
  const base = baseStructureDefinitions().find((sd) => sd.url === 'http://hl7.org/fhir/StructureDefinition/Patient')!;
  const element = structuredClone(base.snapshot!.element).map((e) => (e.path === 'Patient.birthDate' ? { ...e, min: 1 } : e));
  return { ...profile('snap-patient', 'Patient', []), differential: undefined, snapshot: { element } };
}

const genericProfiles: StructureDefinition[] = [
  profile('strict-patient', 'Patient', [
    { id: 'Patient.active', path: 'Patient.active', fixedBoolean: true },
    { id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 },
    { id: 'Patient.photo', path: 'Patient.photo', max: '0' },
    { id: 'Patient.maritalStatus', path: 'Patient.maritalStatus', patternCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] } },
    { id: 'Patient.gender', path: 'Patient.gender', binding: { strength: 'required', valueSet: 'http://example.org/fhir/ValueSet/binary-gender' } },
    { id: 'Patient.name', path: 'Patient.name', constraint: [{ key: 'ex-1', severity: 'warning', human: 'A name should have a family name', expression: 'family.exists()' }] },
  ]),
  profile('ins-patient', 'Patient', [
    { id: 'Patient.identifier', path: 'Patient.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } },
    { id: 'Patient.identifier:INS', path: 'Patient.identifier', sliceName: 'INS', min: 1, max: '1' },
    { id: 'Patient.identifier:INS.system', path: 'Patient.identifier.system', fixedUri: INS },
    { id: 'Patient.identifier:INS.value', path: 'Patient.identifier.value', min: 1 },
    { id: 'Patient.extension:birthPlace', path: 'Patient.extension', sliceName: 'birthPlace', min: 1, type: [{ code: 'Extension', profile: ['http://hl7.org/fhir/StructureDefinition/patient-birthPlace'] }] },
  ]),
  profile('derived-patient', 'Patient', [{ id: 'Patient.deceased[x]', path: 'Patient.deceased[x]', max: '0' }], `${EX}ins-patient`),
  profile('kind-consent', 'Consent', [
    { id: 'Consent.category', path: 'Consent.category', slicing: { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'closed' } },
    { id: 'Consent.category:privacy', path: 'Consent.category', sliceName: 'privacy', min: 1, max: '1', patternCodeableConcept: { coding: [{ system: 'http://loinc.org', code: '59284-0' }] } },
    { id: 'Consent.category:kind', path: 'Consent.category', sliceName: 'kind', min: 1, max: '1', patternCodeableConcept: { coding: [{ system: KIND, code: 'block' }] } },
    { id: 'Consent.provision.type', path: 'Consent.provision.type', min: 1, fixedCode: 'deny' },
  ]),
  { ...profile('block-consent', 'Consent', [{ id: 'Consent.provision.type', path: 'Consent.provision.type', min: 1, fixedCode: 'deny' }]), url: `${CARNET}carnet-consent-block` },
  profile('quantity-observation', 'Observation', [
    { id: 'Observation.value[x]', path: 'Observation.value[x]', type: [{ code: 'Quantity' }] },
    { id: 'Observation.code', path: 'Observation.code', binding: { strength: 'required', valueSet: 'http://example.org/fhir/ValueSet/loinc-only' } },
  ]),
  profile('marital-patient', 'Patient', [
    { id: 'Patient.maritalStatus', path: 'Patient.maritalStatus', binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/ValueSet/marital-status|4.0.1' } },
  ]),
  snapshotProfile(),
];

const valueSets = [
  { resourceType: 'ValueSet', id: 'binary-gender', url: 'http://example.org/fhir/ValueSet/binary-gender', status: 'active', compose: { include: [{ system: 'http://hl7.org/fhir/administrative-gender', concept: [{ code: 'female' }, { code: 'male' }] }] } },
  { resourceType: 'ValueSet', id: 'loinc-only', url: 'http://example.org/fhir/ValueSet/loinc-only', status: 'active', compose: { include: [{ system: 'http://loinc.org' }] } },
];

describe('generic profile machinery', () => {
  let validator: CarnetValidator;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-profiles-'));
  beforeAll(async () => {
    for (const resource of [...genericProfiles, ...valueSets]) fs.writeFileSync(path.join(dir, `${resource.resourceType}-${resource.id}.json`), JSON.stringify(resource));
    validator = await createValidator({ profilesDir: dir, terminologyDir: dir });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const claim = (name: string, resource: Record<string, unknown>) => ({ ...resource, meta: { profile: [`${EX}${name}`] } });
  const goodPatient = { resourceType: 'Patient', active: true, birthDate: '1970-01-01', gender: 'female', maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Married' }], text: 'married' } };
  const insPatient = {
    resourceType: 'Patient',
    identifier: [{ system: 'http://hospital.example.org/ipp', value: '1' }, { system: INS, value: '279035121518989' }],
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Lyon' } }],
  };
  const consent = (categories: unknown[], provisionType = 'deny') => ({
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: categories,
    patient: { reference: 'Patient/1' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
    provision: { type: provisionType, actor: [{ role: { text: 'IRCP' }, reference: { reference: 'Practitioner/p' } }] },
  });
  const privacy = { coding: [{ system: 'http://loinc.org', code: '59284-0' }] };
  const block = { coding: [{ system: KIND, code: 'block' }] };
  const carnetBlock = { coding: [{ system: CONSENT_KIND, code: 'block' }] };

  it('compiles everything it was given', () => {
    expect(Object.values(validator.profileNotes()).flat()).toEqual([]);
  });

  it.each([
    ['a conforming resource', 'strict-patient', goodPatient, []],
    ['fixed value', 'strict-patient', { ...goodPatient, active: false }, [['value', 'Patient.active']]],
    ['min 1 (differential)', 'strict-patient', { ...goodPatient, birthDate: undefined }, [['required', 'Patient.birthDate']]],
    ['max 0', 'strict-patient', { ...goodPatient, photo: [{ url: 'http://x.org/a.png' }] }, [['structure', 'Patient.photo']]],
    ['pattern: another coding', 'strict-patient', { ...goodPatient, maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'S' }] } }, [['value', 'Patient.maritalStatus']]],
    ['required binding to a local value set', 'strict-patient', { ...goodPatient, gender: 'other' }, [['code-invalid', 'Patient.gender']]],
    ['slice present', 'ins-patient', insPatient, []],
    ['slice missing', 'ins-patient', { ...insPatient, identifier: [{ system: 'http://hospital.example.org/ipp', value: '1' }] }, [['required', 'Patient.identifier']]],
    ['slice twice', 'ins-patient', { ...insPatient, identifier: [{ system: INS, value: '1' }, { system: INS, value: '2' }] }, [['structure', 'Patient.identifier']]],
    ['rule inside a slice', 'ins-patient', { ...insPatient, identifier: [{ system: INS }] }, [['required', 'Patient.identifier[0].value']]],
    ['an extension satisfies min 1', 'ins-patient', { ...insPatient, identifier: [{ system: INS, _value: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } }] }, []],
    ['extension slice by url', 'ins-patient', { ...insPatient, extension: undefined }, [['required', 'Patient.extension']]],
    ['profile on a profile: its own rule', 'derived-patient', { ...insPatient, deceasedBoolean: false }, [['structure', 'Patient.deceased']]],
    ['profile on a profile: its base rule', 'derived-patient', { ...insPatient, identifier: undefined }, [['required', 'Patient.identifier']]],
    ['slices by pattern: both categories', 'kind-consent', consent([privacy, { ...block, text: 'block' }]), []],
    ['slices by pattern: kind missing', 'kind-consent', consent([privacy]), [['required', 'Consent.category']]],
    ['closed slicing: a third category', 'kind-consent', consent([privacy, block, { text: 'other' }]), [['structure', 'Consent.category[2]']]],
    ['fixed code deep down', 'kind-consent', consent([privacy, block], 'permit'), [['value', 'Consent.provision.type']]],
    ['type restriction', 'quantity-observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, valueString: '72' }, [['structure', 'Observation.value.ofType(string)']]],
    ['binding to a whole external system', 'quantity-observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://snomed.info/sct', code: '364075005' }] } }, [['code-invalid', 'Observation.code']]],
    ['binding to a base-spec value set: in it', 'marital-patient', { resourceType: 'Patient', maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'W' }] } }, []],
    ['binding to a base-spec value set: not in it', 'marital-patient', { resourceType: 'Patient', maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'Z' }] } }, [['code-invalid', 'Patient.maritalStatus']]],
    ['binding: text only', 'marital-patient', { resourceType: 'Patient', maritalStatus: { text: 'married' } }, [['code-invalid', 'Patient.maritalStatus']]],
    ['snapshot profile adds only its change', 'snap-patient', { resourceType: 'Patient' }, [['required', 'Patient.birthDate']]],
  ])('%s (%s)', (_case, name, resource, expected) => {
    const errors = errorsOf(validator, claim(name, JSON.parse(JSON.stringify(resource)) as Record<string, unknown>));
    expect(errors.map((issue) => [issue.code, issue.expression?.[0]])).toEqual(expected);
  });

  it.each([
    ['a block Consent that denies', [privacy, carnetBlock], 'deny', []],
    ['a block Consent that permits', [privacy, carnetBlock], 'permit', [['value', 'Consent.provision.type']]],
    ['an unknown consent kind', [privacy, { coding: [{ system: CONSENT_KIND, code: 'sell-my-data' }] }], 'permit', [['code-invalid', 'Consent.category[1].coding[0]']]],
    ['a Consent without consent kind', [privacy], 'permit', []],
  ])('applies the consent-kind profile without a claim: %s', (_case, categories, type, expected) => {
    const errors = errorsOf(validator, consent(categories, type));
    expect(errors.map((issue) => [issue.code, issue.expression?.[0]])).toEqual(expected);
  });

  it('reports a warning-level profile constraint as a warning', () => {
    const issues = validator.validate(claim('strict-patient', { ...goodPatient, name: [{ given: ['Ann'] }] }));
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'invariant', expression: ['Patient.name[0]'], message: 'ex-1: A name should have a family name' })]);
  });
});
