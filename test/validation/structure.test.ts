/**
 * Structure, primitive types and cardinalities of the base specification:
 * each case is a resource, the issue code and the FHIRPath expression of the
 * offending element. Read them like the spec.
 */
import { createValidator, isErrorIssue, type CarnetValidator } from '../../src/validation';

let validator: CarnetValidator;
beforeAll(async () => {
  validator = await createValidator();
});

const errorsOf = (resource: unknown) => validator.validate(resource).filter(isErrorIssue);
const obs = (extra: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'pain' }, ...extra });

describe('resource type', () => {
  it.each([
    ['missing resourceType', 'required', 'resourceType', { id: 'x' }],
    ['unknown resourceType', 'structure', 'resourceType', { resourceType: 'Patientt' }],
    ['abstract type', 'structure', 'resourceType', { resourceType: 'DomainResource' }],
    ['unknown type in a Bundle', 'code-invalid', 'Bundle.entry[0].resource.resourceType', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Nope' } }] }],
  ])('%s → %s at %s', (_case, code, expression, resource) => {
    expect(errorsOf(resource)).toEqual([expect.objectContaining({ code, expression: [expression] })]);
  });

  it.each([['an array', []], ['a string', 'Patient'], ['null', null]])('%s is not a resource', (_case, value) => {
    expect(errorsOf(value)).toEqual([expect.objectContaining({ code: 'structure', message: 'A resource must be a JSON object' })]);
  });
});

describe('the JSON schema: unknown elements and primitive types', () => {
  it.each([
    ['unknown element', 'structure', 'Patient.nickname', { resourceType: 'Patient', nickname: 'Bob' }],
    ['unknown nested element', 'structure', 'Patient.name[0].middle', { resourceType: 'Patient', name: [{ family: 'X', middle: 'Y' }] }],
    ['unknown element in a backbone', 'structure', 'Patient.contact[0].role', { resourceType: 'Patient', contact: [{ name: { family: 'X' }, role: 'x' }] }],
    ['odd key quoted', 'structure', 'Patient.`x-y`', { resourceType: 'Patient', 'x-y': 1 }],
    ['object where an array is expected', 'structure', 'Patient.name', { resourceType: 'Patient', name: { family: 'X' } }],
    ['array where a single value is expected', 'structure', 'Patient.gender', { resourceType: 'Patient', gender: ['male'] }],
    ['number where a string is expected', 'structure', 'Patient.name[0].given[1]', { resourceType: 'Patient', name: [{ given: ['A', 7] }] }],
    ['code outside the required value set', 'code-invalid', 'Patient.gender', { resourceType: 'Patient', gender: 'man' }],
    ['invalid id', 'value', 'Patient.id', { resourceType: 'Patient', id: 'a_b' }],
    ['invalid date', 'value', 'Patient.birthDate', { resourceType: 'Patient', birthDate: '12/03/1970' }],
    ['date that does not exist', 'value', 'Patient.birthDate', { resourceType: 'Patient', birthDate: '2019-02-29' }],
    ['dateTime with hours but no zone', 'value', 'Observation.effective.ofType(dateTime)', obs({ effectiveDateTime: '2020-01-01T10:00:00' })],
    ['decimal integer in an integer', 'structure', 'Patient.multipleBirth.ofType(integer)', { resourceType: 'Patient', multipleBirthInteger: 1.5 }],
    ['positiveInt zero', 'value', 'Patient.photo[0].size', { resourceType: 'Patient', photo: [{ size: -1, url: 'http://x' }] }],
    ['boolean as a string', 'structure', 'Patient.active', { resourceType: 'Patient', active: 'true' }],
    ['invalid base64', 'value', 'Binary.data', { resourceType: 'Binary', contentType: 'text/plain', data: 'not base64!' }],
    ['choice value of the wrong shape', 'structure', 'Observation.value.ofType(Quantity).value', obs({ valueQuantity: { value: '12' } })],
    ['unknown choice type', 'structure', 'Observation.valueFoo', obs({ valueFoo: 1 })],
    ['extension on a non-primitive', 'structure', 'Observation._code', obs({ _code: { id: 'x' } })],
    ['value inside a primitive extension', 'structure', 'Observation.status.value', obs({ _status: { value: 'final' } })],
    ['unknown element in a contained resource', 'structure', 'Patient.contained[0].foo', { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', foo: 1 }], managingOrganization: { reference: '#o' } }],
    ['unknown element in a Bundle entry', 'structure', 'Bundle.entry[0].resource.foo', { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', resource: { resourceType: 'Patient', foo: 1 } }] }],
  ])('%s → %s at %s', (_case, code, expression, resource) => {
    expect(errorsOf(resource)).toEqual([expect.objectContaining({ code, expression: [expression] })]);
  });
});

describe('what the schema misses: empty, null, cardinalities', () => {
  it.each([
    ['empty array', 'structure', 'Patient.name', { resourceType: 'Patient', name: [] }],
    ['empty array deep down', 'structure', 'Patient.name[0].given', { resourceType: 'Patient', name: [{ given: [] }] }],
    ['empty object', 'structure', 'Patient.name[0]', { resourceType: 'Patient', name: [{}] }],
    ['object with only an id', 'structure', 'Patient.maritalStatus', { resourceType: 'Patient', maritalStatus: { id: 'm' } }],
    ['null value', 'structure', 'Patient.gender', { resourceType: 'Patient', gender: null }],
    ['null complex value', 'structure', 'Patient.maritalStatus', { resourceType: 'Patient', maritalStatus: null }],
    ['null in an array', 'structure', 'Patient.name[1]', { resourceType: 'Patient', name: [{ family: 'X' }, null] }],
    ['null primitive without its extension', 'structure', 'Patient.name[0].given[1]', { resourceType: 'Patient', name: [{ given: ['A', null] }] }],
    ['empty string', 'value', 'Patient.name[0].given[1]', { resourceType: 'Patient', name: [{ given: ['A', ''] }] }],
    ['empty uri', 'value', 'Patient.identifier[0].system', { resourceType: 'Patient', identifier: [{ system: '', value: '1' }] }],
    ['missing required element', 'required', 'Observation.status', { resourceType: 'Observation', code: { text: 'x' } }],
    ['missing required choice', 'required', 'Questionnaire.item[0].enableWhen[0].answer', { resourceType: 'Questionnaire', status: 'active', item: [{ linkId: '1', type: 'display', enableWhen: [{ question: '0', operator: 'exists' }] }] }],
    ['missing required in a backbone', 'required', 'Bundle.entry[0].request.method', { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { url: 'Patient' } }] }],
    ['missing required in a data type', 'required', 'Observation.text.div', obs({ text: { status: 'generated' } })],
    ['missing Extension.url', 'required', 'Patient.extension[0].url', { resourceType: 'Patient', extension: [{ valueString: 'x' }] }],
    ['empty Reference', 'structure', 'Patient.managingOrganization', { resourceType: 'Patient', managingOrganization: {} }],
    ['missing required through contentReference', 'required', 'Questionnaire.item[0].item[0].linkId', { resourceType: 'Questionnaire', status: 'active', item: [{ linkId: '1', type: 'group', item: [{ type: 'display' }] }] }],
    ['misaligned primitive extensions', 'structure', 'Patient.name[0].given', { resourceType: 'Patient', name: [{ given: ['A', 'B'], _given: [{ id: 'g' }] }] }],
    ['relative fullUrl', 'value', 'Bundle.entry[0].fullUrl', { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'Patient/1', resource: { resourceType: 'Patient' } }] }],
  ])('%s → %s at %s', (_case, code, expression, resource) => {
    expect(errorsOf(resource)).toEqual([expect.objectContaining({ code, expression: [expression] })]);
  });

  it.each([
    ['null aligned with an extension', { resourceType: 'Patient', name: [{ given: ['A', null], _given: [null, { extension: [{ url: 'http://x.org/e', valueString: 'y' }] }] }] }],
    ['a primitive with only its extension', { resourceType: 'Patient', _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } }],
    ['required element given only as an extension', { resourceType: 'Observation', _status: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] }, code: { text: 'x' } }],
    ['a contained resource that is referenced', { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O' }], managingOrganization: { reference: '#o' } }],
    ['urn:uuid fullUrl', { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', resource: { resourceType: 'Patient' } }] }],
    ['attachment whose size matches its data', { resourceType: 'Patient', photo: [{ contentType: 'image/png', data: 'aGVsbG8=', size: 5 }] }],
    ['leap day', { resourceType: 'Patient', birthDate: '2020-02-29' }],
  ])('%s is valid', (_case, resource) => {
    expect(errorsOf(resource)).toEqual([]);
  });

  it('reports an attachment size that does not match its data', () => {
    expect(errorsOf({ resourceType: 'Patient', photo: [{ contentType: 'image/png', data: 'aGVsbG8=', size: 6 }] })).toEqual([
      expect.objectContaining({ code: 'value', expression: ['Patient.photo[0].size'] }),
    ]);
  });

  it('reports every problem, not only the first', () => {
    const errors = errorsOf({ resourceType: 'Patient', name: [], gender: null, foo: 1, birthDate: 'x' });
    expect(errors.map((e) => e.expression?.[0]).sort()).toEqual(['Patient.birthDate', 'Patient.foo', 'Patient.gender', 'Patient.name']);
  });
});

describe('hostile shapes', () => {
  const nested = (depth: number, leaf: Record<string, unknown>, wrap: (inner: Record<string, unknown>, i: number) => Record<string, unknown>) => {
    let node = leaf;
    for (let i = 0; i < depth; i++) node = wrap(node, i);
    return node;
  };

  it.each([
    ['Questionnaire items', { resourceType: 'Questionnaire', status: 'active', item: [nested(5000, { linkId: 'x', type: 'display' }, (inner, i) => ({ linkId: String(i), type: 'group', item: [inner] }))] }],
    ['extensions', { resourceType: 'Patient', extension: [nested(5000, { url: 'http://x.org/e', valueString: 'y' }, (inner) => ({ url: 'http://x.org/e', extension: [inner] }))] }],
    ['Bundles', nested(50, { resourceType: 'Patient' }, (inner) => ({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: inner }] }))],
  ])('refuses %s nested thousands of levels deep, without throwing', (_case, resource) => {
    expect(errorsOf(resource)).toEqual([expect.objectContaining({ code: 'too-costly' })]);
  });

  it('accepts reasonably nested Questionnaire items', () => {
    const item = nested(30, { linkId: 'leaf', type: 'display' }, (inner, i) => ({ linkId: String(i), type: 'group', item: [inner] }));
    expect(errorsOf({ resourceType: 'Questionnaire', status: 'active', item: [item] })).toEqual([]);
  });

  it.each([['__proto__'], ['constructor'], ['hasOwnProperty']])('treats a %s key as an unknown element', (key) => {
    const resource = JSON.parse(`{"resourceType":"Patient","${key}":{"polluted":true}}`) as unknown;
    expect(errorsOf(resource)).toEqual([expect.objectContaining({ code: 'structure', expression: [`Patient.${key}`] })]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('many problems', () => {
  it('reports at most 100 issues, then says how many more there are', () => {
    const resource = { resourceType: 'Patient', name: Array.from({ length: 150 }, () => ({ family: 7 })) };
    const issues = validator.validate(resource);
    expect(issues).toHaveLength(101);
    expect(issues[100]).toEqual(expect.objectContaining({ code: 'too-costly', message: '50 more issues not shown' }));
  });
});
