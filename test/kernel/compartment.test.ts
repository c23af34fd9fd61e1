/** The Patient compartment reads references with the one parser: every local form names X, another base names no one of ours. */
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { PatientCompartment } from '../../src/kernel/compartment';
import { createRegistry } from '../../src/search/parameters';

const BASE = 'https://carnet.example.org/fhir';
const compartment = new PatientCompartment(createRegistry(path.resolve(__dirname, '../../profiles')), BASE);
const observation = (reference: string): Resource => ({ resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference } }) as Resource;

describe('PatientCompartment.patientsOf', () => {
  it.each([
    ['relative', 'Patient/x', ['x']],
    ['absolute on the base', `${BASE}/Patient/x`, ['x']],
    ['versioned', 'Patient/x/_history/3', ['x']],
    ['with a query', 'Patient/x?_format=json', ['x']],
    ['on another base', 'https://evil.example/fhir/Patient/x', []],
    ['a relative path with extra segments', 'y/Patient/x', []],
    ['another type', 'Group/x', []],
  ])('a subject %s → %p', (_form, reference, expected) => {
    expect(compartment.patientsOf(observation(reference))).toEqual(expected);
  });
});
