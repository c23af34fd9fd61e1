/** FHIRPath Patch (fhirpatch.html), operation by operation, as a table a reviewer can hold against the spec. */
import type { Parameters, ParametersParameter, Patient } from 'fhir/r4';
import { applyFhirPathPatch } from '../../src/api/bundle/fhirpath-patch';
import { FhirError } from '../../src/kernel/errors';

const patient = (): Patient => ({
  resourceType: 'Patient',
  id: 'p',
  active: true,
  gender: 'male',
  deceasedBoolean: false,
  identifier: [
    { system: 'urn:a', value: '1' },
    { system: 'urn:b', value: '2' },
    { system: 'urn:c', value: '3' },
  ],
  name: [{ family: 'Martin', given: ['Paul', 'Louis'] }],
});

type Part = ParametersParameter;
const op = (type: string, path: string, ...parts: Part[]): Part => ({ name: 'operation', part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...parts] });
const patch = (...operations: Part[]): Parameters => ({ resourceType: 'Parameters', parameter: operations });

describe('FHIRPath Patch', () => {
  it.each<[string, Part[], Partial<Patient>]>([
    ['replace a primitive', [op('replace', 'Patient.gender', { name: 'value', valueCode: 'female' })], { gender: 'female' }],
    ['replace a choice, changing its type', [op('replace', 'Patient.deceased', { name: 'value', valueDateTime: '2020-01-01' })], { deceasedDateTime: '2020-01-01' }],
    ['replace a list item chosen by where()', [op('replace', "Patient.identifier.where(system='urn:b')", { name: 'value', valueIdentifier: { system: 'urn:b', value: '22' } })], { identifier: [{ system: 'urn:a', value: '1' }, { system: 'urn:b', value: '22' }, { system: 'urn:c', value: '3' }] }],
    ['add an element', [op('add', 'Patient', { name: 'name', valueString: 'birthDate' }, { name: 'value', valueDate: '1980-01-02' })], { birthDate: '1980-01-02' }],
    ['add to a list', [op('add', 'Patient.name[0]', { name: 'name', valueString: 'given' }, { name: 'value', valueString: 'Marie' })], { name: [{ family: 'Martin', given: ['Paul', 'Louis', 'Marie'] }] }],
    ['add a repeating element that is absent', [op('add', 'Patient', { name: 'name', valueString: 'telecom' }, { name: 'value', valueContactPoint: { system: 'email', value: 'a@b.fr' } })], { telecom: [{ system: 'email', value: 'a@b.fr' }] }],
    ['add an anonymous element from parts', [op('add', 'Patient', { name: 'name', valueString: 'contact' }, { name: 'value', part: [{ name: 'gender', valueCode: 'female' }] })], { contact: [{ gender: 'female' }] }],
    ['insert into a list', [op('insert', 'Patient.identifier', { name: 'index', valueInteger: 1 }, { name: 'value', valueIdentifier: { system: 'urn:x', value: '9' } })], { identifier: [{ system: 'urn:a', value: '1' }, { system: 'urn:x', value: '9' }, { system: 'urn:b', value: '2' }, { system: 'urn:c', value: '3' }] }],
    ['delete a list item', [op('delete', 'Patient.identifier[0]')], { identifier: [{ system: 'urn:b', value: '2' }, { system: 'urn:c', value: '3' }] }],
    ['delete an element', [op('delete', 'Patient.active')], { active: undefined }],
    ['delete what is not there (no-op)', [op('delete', 'Patient.birthDate')], { gender: 'male' }],
    ['move a list item', [op('move', 'Patient.identifier', { name: 'source', valueInteger: 0 }, { name: 'destination', valueInteger: 2 })], { identifier: [{ system: 'urn:b', value: '2' }, { system: 'urn:c', value: '3' }, { system: 'urn:a', value: '1' }] }],
    ['apply operations in order', [op('replace', 'Patient.gender', { name: 'value', valueCode: 'other' }), op('replace', 'Patient.gender', { name: 'value', valueCode: 'unknown' })], { gender: 'unknown' }],
  ])('%s', (_name, operations, expected) => {
    const input = patient();
    const result = applyFhirPathPatch(input, patch(...operations)) as Patient;
    expect(result).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([, value]) => value !== undefined)));
    for (const [key, value] of Object.entries(expected)) if (value === undefined) expect(result).not.toHaveProperty(key);
    expect(input).toEqual(patient()); // the input is never changed
  });

  it.each<[string, number, Parameters]>([
    ['no operation', 400, patch()],
    ['a parameter that is not an operation', 400, { resourceType: 'Parameters', parameter: [{ name: 'resource' }] }],
    ['an unknown operation type', 400, patch(op('rename', 'Patient.gender'))],
    ['replace without a value', 400, patch(op('replace', 'Patient.gender'))],
    ['a path that is not FHIRPath', 400, patch(op('delete', 'Patient.name['))],
    ['replace matching several elements', 422, patch(op('replace', 'Patient.identifier', { name: 'value', valueIdentifier: { value: 'x' } }))],
    ['replace matching nothing', 422, patch(op('replace', 'Patient.birthDate', { name: 'value', valueDate: '2000-01-01' }))],
    ['insert out of range', 422, patch(op('insert', 'Patient.identifier', { name: 'index', valueInteger: 9 }, { name: 'value', valueIdentifier: { value: 'x' } }))],
    ['move out of range', 422, patch(op('move', 'Patient.identifier', { name: 'source', valueInteger: 0 }, { name: 'destination', valueInteger: 5 }))],
    ['add to a single element that has a value', 422, patch(op('add', 'Patient', { name: 'name', valueString: 'gender' }, { name: 'value', valueCode: 'female' }))],
  ])('%s → %i', (_name, status, parameters) => {
    let error: unknown;
    try {
      applyFhirPathPatch(patient(), parameters);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(status);
  });
});
