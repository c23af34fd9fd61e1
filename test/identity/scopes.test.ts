/** SMART scopes (§3): the grammar as a table, then what they allow. */
import type { Caller } from '../../src/kernel/caller';
import { allows, callerAllows, isOperator, parseScope, parseScopes, readableTypes } from '../../src/identity/scopes';

const show = (scope: string) => {
  const parsed = parseScope(scope);
  return parsed && `${parsed.context}/${parsed.resourceType}.${[...parsed.interactions].join('')}`;
};

describe('parseScope', () => {
  it.each([
    // SMART v1
    ['patient/DocumentReference.read', 'patient/DocumentReference.rs'],
    ['patient/Observation.write', 'patient/Observation.cud'],
    ['user/*.*', 'user/*.cruds'],
    ['system/*.write', 'system/*.cud'],
    ['system/Patient.*', 'system/Patient.cruds'],
    // SMART v2
    ['patient/DocumentReference.rs', 'patient/DocumentReference.rs'],
    ['user/*.cruds', 'user/*.cruds'],
    ['system/Patient.c', 'system/Patient.c'],
    ['user/Immunization.cu', 'user/Immunization.cu'],
    ['patient/Consent.crud', 'patient/Consent.crud'],
    ['system/Binary.ds', 'system/Binary.ds'],
    // v2 query restriction: parses, grants nothing (never widened)
    ['patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory', 'patient/Observation.'],
    ['user/*.cruds?', 'user/*.'],
  ])('%s → %s', (scope, expected) => {
    expect(show(scope)).toBe(expected);
  });

  it.each([
    ['openid'],
    ['fhirUser'],
    ['launch'],
    ['launch/patient'],
    ['offline_access'],
    ['online_access'],
    [''],
    ['patient/'],
    ['patient/*'],
    ['patient/*.'],
    ['patient/.read'],
    ['Patient/Observation.read'], // context is lower case
    ['admin/*.*'],
    ['patient/observation.read'], // types start upper case
    ['patient/Observation.sr'], // v2 letters out of order
    ['patient/Observation.rr'], // repeated letter
    ['patient/Observation.x'],
    ['patient/Observation.readwrite'],
    ['patient/Observation.READ'],
    ['patient/Obs ervation.read'],
    ['patient/*.*.*'],
    ['system/../../*.*'],
  ])('ignores %p', (scope) => {
    expect(parseScope(scope)).toBeUndefined();
  });
});

describe('parseScopes', () => {
  it.each<[string, unknown, string[]]>([
    ['a space-separated claim', 'openid fhirUser patient/Patient.read patient/Observation.rs', ['patient/Patient.rs', 'patient/Observation.rs']],
    ['several spaces, tabs and newlines', '  user/*.read\t\nuser/Consent.c  ', ['user/*.rs', 'user/Consent.c']],
    ['only non-resource scopes', 'openid profile offline_access', []],
    ['an empty claim', '', []],
    ['a missing claim', undefined, []],
    ['a number', 42, []],
    ['an object', { scope: 'user/*.*' }, []],
    ['an array of strings (lenient)', ['system/*.read', 7, 'openid'], ['system/*.rs']],
    ['a query-restricted scope is dropped', 'patient/Observation.rs?category=laboratory patient/Patient.r', ['patient/Patient.r']],
  ])('%s', (_name, claim, expected) => {
    expect(parseScopes(claim).map((s) => `${s.context}/${s.resourceType}.${[...s.interactions].join('')}`)).toEqual(expected);
  });
});

describe('allows', () => {
  const scopes = parseScopes('patient/DocumentReference.read patient/Observation.c user/*.write');
  it.each([
    ['patient', 'DocumentReference', 'r', true],
    ['patient', 'DocumentReference', 's', true],
    ['patient', 'DocumentReference', 'c', false],
    ['patient', 'Observation', 'c', true],
    ['patient', 'Observation', 'r', false],
    ['patient', 'Patient', 'r', false],
    ['user', 'Patient', 'c', true],
    ['user', 'Patient', 'd', true],
    ['user', 'Patient', 'r', false],
    ['user', 'DocumentReference', 'r', false], // patient/ scopes do not count for user/
    ['system', 'Patient', 'c', false],
    [undefined, 'DocumentReference', 'r', true], // any context
    [undefined, 'Patient', 'u', true],
  ] as const)('%s %s %s → %s', (context, type, interaction, expected) => {
    expect(allows(scopes, context, type, interaction)).toBe(expected);
  });
});

describe('callerAllows: only scopes of the caller’s own context count', () => {
  const caller = (kind: Caller['kind'], scope: string) => ({ kind, scopes: parseScopes(scope) });
  it.each<[Caller['kind'], string, boolean]>([
    ['patient', 'patient/*.read', true],
    ['related-person', 'patient/*.read', true],
    ['practitioner', 'user/*.read', true],
    ['system', 'system/*.read', true],
    ['patient', 'user/*.read', false],
    ['related-person', 'system/*.*', false],
    ['practitioner', 'patient/*.*', false],
    ['system', 'user/*.*', false],
  ])('%s holding %s reads Observation → %s', (kind, scope, expected) => {
    expect(callerAllows(caller(kind, scope), 'Observation', 'r')).toBe(expected);
  });
});

describe('isOperator', () => {
  it.each([
    ['system/*.*', true],
    ['system/*.cruds', true],
    ['system/*.read system/*.write', true],
    ['system/*.rs system/*.cud', true],
    ['system/*.crud', false],
    ['system/*.read', false],
    ['system/Patient.* system/Observation.*', false],
    ['user/*.*', false],
    ['patient/*.cruds', false],
    ['system/*.cruds?_tag=x', false],
    ['', false],
  ])('%p → %s', (scope, expected) => {
    expect(isOperator(parseScopes(scope))).toBe(expected);
  });
});

describe('readableTypes: the types a caller may read or search, in its own context', () => {
  const caller = (kind: Caller['kind'], scope: string) => ({ kind, scopes: parseScopes(scope) });
  it.each<[Caller['kind'], string, '*' | string[]]>([
    ['patient', 'patient/*.*', '*'],
    ['patient', 'patient/*.read', '*'],
    ['patient', 'patient/*.r', '*'],
    ['patient', 'patient/*.s', '*'],
    ['patient', 'patient/*.write', []],
    ['patient', 'patient/*.cud', []],
    ['patient', 'patient/Observation.read patient/Consent.write', ['Observation']],
    ['patient', 'patient/Observation.rs patient/DocumentReference.r patient/Observation.read', ['DocumentReference', 'Observation']],
    ['patient', 'patient/Observation.rs?category=laboratory', []],
    ['patient', 'user/*.* system/*.*', []],
    ['related-person', 'patient/Patient.read', ['Patient']],
    ['practitioner', 'user/*.cruds', '*'],
    ['practitioner', 'system/*.* patient/*.*', []],
    ['practitioner', 'user/Practitioner.rs user/*.write', ['Practitioner']],
    ['system', 'system/Observation.*', ['Observation']],
    ['system', 'system/*.write', []],
  ])('%s holding %p reads %j', (kind, scope, expected) => {
    expect(readableTypes(caller(kind, scope))).toEqual(expected);
  });
});
