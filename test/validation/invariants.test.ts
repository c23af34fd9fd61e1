/**
 * Base-spec invariants (FHIRPath constraints of the StructureDefinitions):
 * a failing invariant is an error with code `invariant`, message
 * `<key>: <human>` and the expression of the element that carries it.
 */
import { createValidator, isErrorIssue, type CarnetValidator } from '../../src/validation';

let validator: CarnetValidator;
beforeAll(async () => {
  validator = await createValidator();
});

const errorsOf = (resource: unknown) => validator.validate(resource).filter(isErrorIssue);
const obs = (extra: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'pain' }, ...extra });
const contact = (extra: Record<string, unknown>) => ({ resourceType: 'Patient', contact: [{ name: { family: 'Doe' }, ...extra }] });

describe('failing invariants', () => {
  it.each([
    ['per-1', 'Patient.contact[0].period', contact({ period: { start: '2021-05-02', end: '2021-05-01' } })],
    ['per-1', 'Encounter.period', { resourceType: 'Encounter', status: 'unknown', class: { code: 'AMB' }, period: { start: '2023-06-21', end: '2023-06-21T06:20:00Z' } }],
    ['pat-1', 'Patient.contact[0]', { resourceType: 'Patient', contact: [{ gender: 'female' }] }],
    ['cpt-2', 'Patient.telecom[0]', { resourceType: 'Patient', telecom: [{ value: '0612345678' }] }],
    ['qty-3', 'Observation.value.ofType(Quantity)', obs({ valueQuantity: { value: 3, code: 'mg' } })],
    ['obs-6', 'Observation', obs({ valueString: 'x', dataAbsentReason: { text: 'unknown' } })],
    ['att-1', 'Patient.photo[0]', { resourceType: 'Patient', photo: [{ data: 'aGVsbG8=' }] }],
    ['ref-1', 'Patient.managingOrganization', { resourceType: 'Patient', managingOrganization: { reference: '#missing' } }],
    ['dom-3', 'Patient', { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O' }] }],
    ['dom-4', 'Patient', { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O', meta: { versionId: '1' } }], managingOrganization: { reference: '#o' } }],
    ['ext-1', 'Patient.extension[0]', { resourceType: 'Patient', extension: [{ url: 'http://example.org/e' }] }],
    ['ext-1', 'Patient.extension[0]', { resourceType: 'Patient', extension: [{ url: 'http://example.org/e', valueString: 'a', extension: [{ url: 'x', valueString: 'b' }] }] }],
    ['ppc-1', 'Consent', { resourceType: 'Consent', status: 'active', scope: { text: 'privacy' }, category: [{ text: 'x' }] }],
    ['bdl-7', 'Bundle', { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://x.org/Patient/1', resource: { resourceType: 'Patient' } }, { fullUrl: 'http://x.org/Patient/1', resource: { resourceType: 'Patient' } }] }],
    ['imm-1', 'Immunization.education[0]', { resourceType: 'Immunization', status: 'completed', vaccineCode: { text: 'x' }, patient: { reference: 'Patient/1' }, occurrenceString: 'last year', education: [{ publicationDate: '2020-01-01' }] }],
    ['per-1', 'Bundle.entry[0].resource.contact[0].period', { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', resource: contact({ period: { start: '2021-05-02', end: '2021-05-01' } }) }] }],
    ['cpt-2', 'Patient.contained[0].telecom[0]', { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O', telecom: [{ value: '1' }] }], managingOrganization: { reference: '#o' } }],
  ])('%s at %s', (key, expression, resource) => {
    expect(errorsOf(resource)).toEqual([expect.objectContaining({ code: 'invariant', expression: [expression], message: expect.stringMatching(new RegExp(`^${key}: `)) })]);
  });
});

describe('satisfied invariants', () => {
  it.each([
    ['per-1 ordered period', contact({ period: { start: '2021-05-01', end: '2021-05-02' } })],
    ['per-1 open period', contact({ period: { start: '2021-05-01' } })],
    ['pat-1 organization only', { resourceType: 'Patient', contact: [{ organization: { reference: 'Organization/1' } }] }],
    ['ref-1 local reference to a contained resource', { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O' }], managingOrganization: { reference: '#o' } }],
    ['dom-3 contained resource pointing at its container', { resourceType: 'Patient', contained: [{ resourceType: 'Provenance', id: 'p', target: [{ reference: '#' }], recorded: '2020-01-01T00:00:00Z', agent: [{ who: { display: 'x' } }] }] }],
    ['ext-1 nested extensions', { resourceType: 'Patient', extension: [{ url: 'http://example.org/e', extension: [{ url: 'a', valueString: 'b' }] }] }],
    ['obs-6 value without dataAbsentReason', obs({ valueString: 'x' })],
  ])('%s', (_case, resource) => {
    expect(errorsOf(resource)).toEqual([]);
  });
});

describe('what is evaluated', () => {
  it('evaluates invariants only when the structure is sound (one error, not two)', () => {
    const errors = errorsOf({ resourceType: 'Patient', foo: 1, contact: [{ gender: 'female' }] });
    expect(errors).toEqual([expect.objectContaining({ code: 'structure', expression: ['Patient.foo'] })]);
  });

  it('lists the base-spec invariants it cannot evaluate, each with a reason', () => {
    expect(validator.skippedInvariants().map((skip) => skip.key)).toEqual(['ctm-1', 'txt-1', 'txt-2']);
    for (const skip of validator.skippedInvariants()) expect(skip.reason).not.toBe('');
  });

  it.each([
    ['<script>', '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p><script>alert(1)</script></div>', 'txt-1'],
    ['an event handler', '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">Hi</p></div>', 'txt-1'],
    ['a javascript: URL', '<div xmlns="http://www.w3.org/1999/xhtml"><a href="javascript:x()">Hi</a></div>', 'txt-1'],
    ['no content', '<div xmlns="http://www.w3.org/1999/xhtml">  </div>', 'txt-2'],
    ['an HTML entity', '<div xmlns="http://www.w3.org/1999/xhtml">&eacute;</div>', 'Invalid entity'],
    ['no XHTML namespace', '<div>Hi</div>', 'XHTML namespace'],
    ['not a div', '<p>Hi</p>', 'single XHTML <div>'],
  ])('rejects a narrative with %s (cheap stand-in for txt-1/txt-2)', (_case, div, message) => {
    expect(errorsOf({ resourceType: 'Patient', text: { status: 'generated', div } })).toEqual([
      expect.objectContaining({ expression: ['Patient.text.div'], message: expect.stringContaining(message) }),
    ]);
  });
});
