/** Caller resolution (§3) as tables, over an in-memory CallerLookup. */
import type { CodeableConcept, PractitionerRole, RelatedPerson } from 'fhir/r4';
import type { JWTPayload } from 'jose';
import { FhirError } from '../../src/kernel/errors';
import type { Caller } from '../../src/kernel/caller';
import { fhirDateBounds, PROFESSION_SYSTEM, resolveCaller, SPECIALTY_SYSTEM, type CallerLookup } from '../../src/identity/resolve';

const NOW = new Date('2026-06-15T12:00:00Z');
const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const relationship = (system: string, code: string): CodeableConcept[] => [{ coding: [{ system, code }] }];

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
  activeRoles: async (practitionerId) => roles.filter((r) => r.practitioner?.reference === `Practitioner/${practitionerId}` || r.id === 'stray'),
};

type Expected = { status: number } | Partial<Record<string, unknown>>;

async function resolve(claims: JWTPayload): Promise<Caller | { status: number }> {
  try {
    return await resolveCaller({ iss: 'https://idp', exp: 0, sub: 'subject-1', ...claims }, lookup, NOW);
  } catch (error) {
    if (error instanceof FhirError) return { status: error.status };
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
    ['a parent (PRN) among other relationships', { fhirUser: 'https://x.example/fhir/RelatedPerson/parent' }, { kind: 'related-person', patientId: 'kid' }],
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
