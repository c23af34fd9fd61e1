/** Caller resolution (§3) as tables, over an in-memory CallerLookup. */
import type { CodeableConcept, Patient, PractitionerRole, RelatedPerson } from 'fhir/r4';
import type { JWTPayload } from 'jose';
import { FhirError } from '../../src/kernel/errors';
import type { Caller } from '../../src/kernel/caller';
import { fhirDateBounds, isMinor, PROFESSION_SYSTEM, ResolvedCallers, resolveCaller, SPECIALTY_SYSTEM, type CallerLookup } from '../../src/identity/resolve';

const NOW = new Date('2026-06-15T12:00:00Z');
const FHIR_BASE = 'https://carnet.example.org/fhir';
const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const relationship = (system: string, code: string): CodeableConcept[] => [{ coding: [{ system, code }] }];

/** Patients by age at NOW; `kid` is the minor the relationship table below represents. */
const patients: Record<string, Patient> = {
  kid: { resourceType: 'Patient', id: 'kid', birthDate: '2015-03-01' },
  '17y364d': { resourceType: 'Patient', id: '17y364d', birthDate: '2008-06-16' },
  '18y0d': { resourceType: 'Patient', id: '18y0d', birthDate: '2008-06-15' },
  adult: { resourceType: 'Patient', id: 'adult', birthDate: '1980-01-01' },
  'born-2009': { resourceType: 'Patient', id: 'born-2009', birthDate: '2009' },
  'born-2008': { resourceType: 'Patient', id: 'born-2008', birthDate: '2008' },
  'no-birthdate': { resourceType: 'Patient', id: 'no-birthdate' },
};
const representativeOf = (id: string, patient: string, code: string, extra: Partial<RelatedPerson> = {}): RelatedPerson => ({
  resourceType: 'RelatedPerson',
  id,
  patient: { reference: `Patient/${patient}` },
  relationship: relationship(ROLE_CODE, code),
  ...extra,
});

const relatedPeople: Record<string, RelatedPerson> = {
  mother: { resourceType: 'RelatedPerson', id: 'mother', patient: { reference: 'Patient/kid' }, relationship: relationship(ROLE_CODE, 'MTH') },
  father: { resourceType: 'RelatedPerson', id: 'father', patient: { reference: 'Patient/kid' }, relationship: relationship(ROLE_CODE, 'FTH'), active: true },
  parent: { resourceType: 'RelatedPerson', id: 'parent', patient: { reference: 'Patient/kid' }, relationship: [{ text: 'parent' }, ...relationship(ROLE_CODE, 'PRN')] },
  guardian: { resourceType: 'RelatedPerson', id: 'guardian', patient: { reference: 'Patient/kid' }, relationship: relationship(ROLE_CODE, 'GUARD') },
  aunt: { resourceType: 'RelatedPerson', id: 'aunt', patient: { reference: 'Patient/kid' }, relationship: relationship(ROLE_CODE, 'AUNT') },
  'other-system': { resourceType: 'RelatedPerson', id: 'other-system', patient: { reference: 'Patient/kid' }, relationship: relationship('http://example.org/roles', 'MTH') },
  'no-relationship': { resourceType: 'RelatedPerson', id: 'no-relationship', patient: { reference: 'Patient/kid' } },
  inactive: { resourceType: 'RelatedPerson', id: 'inactive', active: false, patient: { reference: 'Patient/kid' }, relationship: relationship(ROLE_CODE, 'MTH') },
  'period-ended': { resourceType: 'RelatedPerson', id: 'period-ended', period: { end: '2025-12-31' }, patient: { reference: 'Patient/kid' }, relationship: relationship(ROLE_CODE, 'GUARD') },
  'not-a-patient': { resourceType: 'RelatedPerson', id: 'not-a-patient', patient: { reference: 'Group/kid' }, relationship: relationship(ROLE_CODE, 'MTH') },
};

const G15 = (code: string) => ({ coding: [{ system: PROFESSION_SYSTEM, code }] });
const R38 = (code: string) => ({ coding: [{ system: SPECIALTY_SYSTEM, code }] });
const SAMU = { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/role', code: 'samu-regulator' }] };
const role = (id: string, practitioner: string, extra: Partial<PractitionerRole> = {}): PractitionerRole => ({
  resourceType: 'PractitionerRole',
  id,
  practitioner: { reference: `Practitioner/${practitioner}` },
  ...extra,
});

const roles: PractitionerRole[] = [
  role('gp', 'doc', { code: [G15('10')], specialty: [R38('SM54')], organization: { reference: 'Organization/clinic' } }),
  role('samu', 'doc', { active: true, code: [G15('10'), SAMU], period: { start: '2026-01-01', end: '2026-06-15' } }),
  role('old', 'doc', { code: [G15('60')], period: { start: '2020', end: '2025-12' } }),
  role('future', 'doc', { code: [G15('40')], period: { start: '2026-07-01T00:00:00+02:00' } }),
  role('off', 'doc', { active: false, code: [G15('21')] }),
  role('nurse', 'nurse', { code: [{ coding: [{ system: 'http://other.example.org', code: '10' }, { system: PROFESSION_SYSTEM, code: '60' }] }] }),
  role('stray', 'someone-else', { code: [G15('10')] }),
];

const lookup: CallerLookup = {
  relatedPerson: async (id) => relatedPeople[id],
  patient: async (id) => patients[id],
  activeRoles: async (practitionerId) => roles.filter((r) => r.practitioner?.reference === `Practitioner/${practitionerId}` || r.id === 'stray'),
};

type Expected = { status: number } | Partial<Record<string, unknown>>;

async function resolve(claims: JWTPayload): Promise<Caller | { status: number }> {
  try {
    return await resolveCaller({ iss: 'https://idp', exp: 0, sub: 'subject-1', ...claims }, lookup, { now: NOW, fhirBase: FHIR_BASE });
  } catch (error) {
    if (error instanceof FhirError) return { status: error.status, ...(error.headers['WWW-Authenticate'] ? { challenge: error.headers['WWW-Authenticate'] } : {}) };
    throw error;
  }
}

describe('resolveCaller', () => {
  it.each<[string, JWTPayload, Expected]>([
    // patients
    ['Patient/X', { fhirUser: 'Patient/123', scope: 'patient/*.read' }, { kind: 'patient', patientId: '123', sub: 'subject-1' }],
    ['an absolute Patient URL', { fhirUser: 'https://carnet.example.org/fhir/Patient/123' }, { kind: 'patient', patientId: '123' }],
    ['a versioned Patient reference', { fhirUser: 'Patient/123/_history/4' }, { kind: 'patient', patientId: '123' }],
    // legal representatives
    ['a mother (MTH)', { fhirUser: 'RelatedPerson/mother' }, { kind: 'related-person', relatedPersonId: 'mother', patientId: 'kid' }],
    ['a father (FTH), active', { fhirUser: 'RelatedPerson/father' }, { kind: 'related-person', patientId: 'kid' }],
    ['a parent (PRN) among other relationships', { fhirUser: 'RelatedPerson/parent' }, { kind: 'related-person', patientId: 'kid' }],
    ['a guardian (GUARD)', { fhirUser: 'RelatedPerson/guardian' }, { kind: 'related-person', patientId: 'kid' }],
    ['an aunt: not a legal representative', { fhirUser: 'RelatedPerson/aunt' }, { status: 403 }],
    ['MTH in another code system', { fhirUser: 'RelatedPerson/other-system' }, { status: 403 }],
    ['no relationship', { fhirUser: 'RelatedPerson/no-relationship' }, { status: 403 }],
    ['an inactive representative', { fhirUser: 'RelatedPerson/inactive' }, { status: 403 }],
    ['a representative whose period ended', { fhirUser: 'RelatedPerson/period-ended' }, { status: 403 }],
    ['a RelatedPerson of a non-Patient', { fhirUser: 'RelatedPerson/not-a-patient' }, { status: 403 }],
    ['an unknown RelatedPerson', { fhirUser: 'RelatedPerson/nobody' }, { status: 403 }],
    // system clients
    ['a system client', { scope: 'system/Observation.c system/Patient.rs' }, { kind: 'system', clientId: 'subject-1', operator: false }],
    ['an operator (system/*.*)', { scope: 'system/*.*' }, { kind: 'system', operator: true }],
    ['an operator (system/*.cruds)', { scope: 'openid system/*.cruds' }, { kind: 'system', operator: true }],
    ['system/*.read is not an operator', { scope: 'system/*.read' }, { kind: 'system', operator: false }],
    ['an empty fhirUser is a system client', { fhirUser: '', scope: 'system/*.read' }, { kind: 'system' }],
    ['no fhirUser and no system/ scope', { scope: 'user/*.* patient/*.*' }, { status: 403 }],
    ['no fhirUser and no scope', {}, { status: 403 }],
    ['only query-restricted system scopes', { scope: 'system/Observation.rs?code=x' }, { status: 403 }],
    // other fhirUser types
    ['fhirUser Organization', { fhirUser: 'Organization/o1', scope: 'system/*.*' }, { status: 403 }],
    ['fhirUser Device', { fhirUser: 'Device/d1' }, { status: 403 }],
    ['fhirUser that is no reference', { fhirUser: 'alice' }, { status: 403 }],
    ['fhirUser that is not a string', { fhirUser: 42 }, { status: 403 }],
    ['an empty sub', { sub: '', fhirUser: 'Patient/1' }, { status: 403 }],
  ])('%s', async (_name, claims, expected) => {
    expect(await resolve(claims)).toMatchObject(expected);
  });

  it('keeps scopes of the wrong context on the caller (they grant nothing, see callerAllows)', async () => {
    const caller = await resolve({ fhirUser: 'Practitioner/doc', scope: 'patient/*.*' });
    expect(caller).toMatchObject({ kind: 'practitioner' });
    expect((caller as Caller).scopes.map((s) => s.context)).toEqual(['patient']);
  });
});

describe('fhirUser: relative, or absolute on this server\'s FHIR base (other bases: 401)', () => {
  it.each<[string, unknown, Expected]>([
    ['relative', 'Patient/123', { kind: 'patient', patientId: '123' }],
    ['relative, versioned', 'Patient/123/_history/2', { kind: 'patient', patientId: '123' }],
    ['absolute on the FHIR base', `${FHIR_BASE}/Patient/123`, { kind: 'patient', patientId: '123' }],
    ['absolute on the FHIR base, versioned', `${FHIR_BASE}/Patient/123/_history/2`, { kind: 'patient', patientId: '123' }],
    ['a RelatedPerson on the FHIR base', `${FHIR_BASE}/RelatedPerson/mother`, { kind: 'related-person', patientId: 'kid' }],
    ['a Practitioner on the FHIR base', `${FHIR_BASE}/Practitioner/nurse`, { kind: 'practitioner', practitionerId: 'nurse' }],
    ['another host', 'https://other.example/fhir/Patient/123', { status: 401, challenge: expect.stringMatching(/^Bearer /) }],
    ['the server without /fhir', 'https://carnet.example.org/Patient/123', { status: 401, challenge: expect.stringMatching(/^Bearer /) }],
    ['another scheme', 'http://carnet.example.org/fhir/Patient/123', { status: 401, challenge: expect.stringMatching(/^Bearer /) }],
    ['a longer path on the host', 'https://carnet.example.org/fhir/other/Patient/123', { status: 401, challenge: expect.stringMatching(/^Bearer /) }],
    ['a RelatedPerson on another base', 'https://x.example/fhir/RelatedPerson/parent', { status: 401, challenge: expect.stringMatching(/^Bearer /) }],
    ['a Practitioner on another base', 'https://idp.example/Practitioner/nurse', { status: 401, challenge: expect.stringMatching(/^Bearer /) }],
    ['a urn', 'urn:uuid:7f0c2a34-4a2f-4b8e-9c1d-0a1b2c3d4e5f', { status: 401, challenge: expect.stringMatching(/^Bearer /) }],
    ['not a reference', 'alice', { status: 403 }],
  ])('%s: %p', async (_name, fhirUser, expected) => {
    expect(await resolve({ fhirUser, scope: 'patient/*.read' })).toMatchObject(expected);
  });

  it('accepts only relative references when no FHIR base is given', async () => {
    await expect(resolveCaller({ sub: 's', fhirUser: `${FHIR_BASE}/Patient/1` }, lookup, { now: NOW })).rejects.toMatchObject({ status: 401 });
    await expect(resolveCaller({ sub: 's', fhirUser: 'Patient/1' }, lookup, { now: NOW })).resolves.toMatchObject({ patientId: '1' });
  });
});

describe('legal representatives: parents while X is a minor, a guardian at any age, never when inactive', () => {
  const cases: Array<[string, string, string, Partial<RelatedPerson>, Expected]> = [
    ['MTH of a patient aged 17y364d', 'MTH', '17y364d', {}, { kind: 'related-person', patientId: '17y364d' }],
    ['FTH of a patient aged 17y364d', 'FTH', '17y364d', {}, { kind: 'related-person', patientId: '17y364d' }],
    ['PRN of a patient aged 17y364d', 'PRN', '17y364d', {}, { kind: 'related-person', patientId: '17y364d' }],
    ['MTH of a patient aged 18y0d', 'MTH', '18y0d', {}, { status: 403 }],
    ['FTH of a patient aged 18y0d', 'FTH', '18y0d', {}, { status: 403 }],
    ['PRN of an adult', 'PRN', 'adult', {}, { status: 403 }],
    ['MTH of a patient born in 2009 (read as 2009-01-01)', 'MTH', 'born-2009', {}, { kind: 'related-person' }],
    ['MTH of a patient born in 2008 (read as 2008-01-01: 18 already)', 'MTH', 'born-2008', {}, { status: 403 }],
    ['MTH of a patient without birthDate', 'MTH', 'no-birthdate', {}, { status: 403 }],
    ['MTH of an unknown patient', 'MTH', 'nobody', {}, { status: 403 }],
    ['GUARD of an adult', 'GUARD', 'adult', {}, { kind: 'related-person', patientId: 'adult' }],
    ['GUARD of a patient aged 18y0d', 'GUARD', '18y0d', {}, { kind: 'related-person', patientId: '18y0d' }],
    ['GUARD of a patient without birthDate', 'GUARD', 'no-birthdate', {}, { kind: 'related-person', patientId: 'no-birthdate' }],
    ['GUARD of an adult, active: false', 'GUARD', 'adult', { active: false }, { status: 403 }],
    ['MTH of a minor, active: false', 'MTH', '17y364d', { active: false }, { status: 403 }],
  ];
  it.each(cases)('%s', async (name, code, patient, extra, expected) => {
    const id = name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 64);
    relatedPeople[id] = representativeOf(id, patient, code, extra);
    expect(await resolve({ fhirUser: `RelatedPerson/${id}`, scope: 'patient/*.read' })).toMatchObject(expected);
  });

  it.each<[string | undefined, string, boolean]>([
    ['2008-06-16', '2026-06-15T23:59:59Z', true],
    ['2008-06-16', '2026-06-16T00:00:00Z', false],
    ['2008-06', '2026-05-31T23:59:59Z', true],
    ['2008-06', '2026-06-01T00:00:00Z', false],
    ['2024-02-29', '2042-02-28T23:59:59Z', true],
    ['2024-02-29', '2042-03-01T00:00:00Z', false],
    ['2030-01-01', '2026-06-15T00:00:00Z', true], // born in the future: still under 18
    [undefined, '2026-06-15T00:00:00Z', false],
    ['', '2026-06-15T00:00:00Z', false],
    ['2008-06-16T10:00:00Z', '2026-06-15T00:00:00Z', false], // not a FHIR date
    ['unknown', '2026-06-15T00:00:00Z', false],
  ])('isMinor(%p) at %s → %s', (birthDate, now, expected) => {
    expect(isMinor(birthDate, new Date(now))).toBe(expected);
  });
});

describe('practitioner roles', () => {
  it('keeps the roles in force now and maps professions, specialties, SAMU and organization', async () => {
    const caller = await resolve({ fhirUser: 'Practitioner/doc', scope: 'user/*.read' });
    expect(caller).toEqual({
      kind: 'practitioner',
      sub: 'subject-1',
      practitionerId: 'doc',
      scopes: expect.any(Array),
      roles: [
        { roleId: 'gp', professions: ['10'], specialties: ['SM54'], samuRegulator: false, organization: 'Organization/clinic' },
        { roleId: 'samu', professions: ['10'], specialties: [], samuRegulator: true },
      ],
    });
  });

  it.each<[string, string[]]>([
    ['doc', ['gp', 'samu']], // old (ended), future (not started), off (inactive) and stray (another practitioner) dropped
    ['nurse', ['nurse']],
    ['unknown', []],
  ])('Practitioner/%s has active roles %p', async (id, expected) => {
    const caller = await resolve({ fhirUser: `Practitioner/${id}` });
    expect((caller as Extract<Caller, { kind: 'practitioner' }>).roles.map((r) => r.roleId)).toEqual(expected);
  });

  it('reads only TRE_G15 codings as professions', async () => {
    const caller = (await resolve({ fhirUser: 'Practitioner/nurse' })) as Extract<Caller, { kind: 'practitioner' }>;
    expect(caller.roles[0].professions).toEqual(['60']);
  });
});

describe('callers kept across requests (ResolvedCallers, as identity resolves every token)', () => {
  const docRoles = roles.filter((r) => r.practitioner?.reference === 'Practitioner/doc'); // one array: the role cache's answer
  const cached: CallerLookup = { ...lookup, activeRoles: async () => docRoles };
  const roleIds = (caller: Caller) => (caller.kind === 'practitioner' ? caller.roles.map((r) => r.roleId) : []);

  it.each([
    ['2026-06-15T12:00:00Z', ['gp', 'samu']],
    ['2026-06-15T23:59:59Z', ['gp', 'samu']],
    ['2026-06-16T00:00:00Z', ['gp']], // samu's period ended with 2026-06-15
    ['2026-06-30T21:59:59Z', ['gp']],
    ['2026-06-30T22:00:00Z', ['gp', 'future']], // future starts at 2026-07-01T00:00+02:00
  ])('a practitioner kept from earlier instants, at %s, has the roles in force then: %j', async (at, expected) => {
    const resolved = new ResolvedCallers();
    const payload: JWTPayload = { sub: 'doc', fhirUser: 'Practitioner/doc', scope: 'user/*.read' };
    for (const earlier of ['2026-06-15T12:00:00Z', '2026-06-15T23:00:00Z', '2026-06-30T21:00:00Z']) {
      if (earlier < at) await resolveCaller(payload, cached, { now: new Date(earlier), resolved });
    }
    const caller = await resolveCaller(payload, cached, { now: new Date(at), resolved });
    expect(roleIds(caller)).toEqual(expected);
    expect(caller).toEqual(await resolveCaller(payload, cached, { now: new Date(at) }));
  });

  it('is the same object while nothing changed, and new when the role lookup answers other roles', async () => {
    const resolved = new ResolvedCallers();
    const payload: JWTPayload = { sub: 'doc', fhirUser: 'Practitioner/doc', scope: 'user/*.read' };
    const first = await resolveCaller(payload, cached, { now: NOW, resolved });
    expect(await resolveCaller(payload, cached, { now: NOW, resolved })).toBe(first);
    const refreshed: CallerLookup = { ...lookup, activeRoles: async () => docRoles.filter((r) => r.id !== 'gp') }; // the cache re-read the roles: gp was ended
    expect(roleIds(await resolveCaller(payload, refreshed, { now: NOW, resolved }))).toEqual(['samu']);
    const patient: JWTPayload = { sub: 'p', fhirUser: 'Patient/p', scope: 'patient/*.read' };
    expect(await resolveCaller(patient, lookup, { now: NOW, resolved })).toBe(await resolveCaller(patient, lookup, { now: NOW, resolved }));
  });
});

describe('fhirDateBounds (role and representative periods)', () => {
  it.each<[string, string | undefined, string | undefined]>([
    ['2026', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-02', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-06-15', '2026-06-15T00:00:00.000Z', '2026-06-16T00:00:00.000Z'],
    ['2026-06-15T10:00:00+02:00', '2026-06-15T08:00:00.000Z', '2026-06-15T08:00:00.001Z'],
    ['2026-06-15T10:00', undefined, undefined], // a dateTime needs a zone
    ['yesterday', undefined, undefined],
  ])('%s', (value, low, high) => {
    const bounds = fhirDateBounds(value);
    expect(bounds && new Date(bounds.low).toISOString()).toBe(low);
    expect(bounds && new Date(bounds.high).toISOString()).toBe(high);
  });
});
