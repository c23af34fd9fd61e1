/**
 * The direct evaluator of plain-path search expressions (src/search/fast-path.ts)
 * against fhirpath.js: for every search parameter of every type it covers,
 * over the HL7 R4 examples and every resource of the Synthea fixtures, the
 * same typed values in the same order (and the same values untyped). Also: which shapes it takes and which
 * it leaves to fhirpath.js.
 */
import type { Bundle, Resource } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { compileFastPath } from '../../src/search/fast-path';
import { baseRegistry, fhirpathTypedEvaluator, splitUnion } from '../../src/search/parameters';
import { indexedParameters } from '../../src/search/extract';
import { fixtureFiles, readFixture } from '../support/fixtures-dir';

function corpus(): Resource[] {
  const resources: Resource[] = fixtureFiles('hl7-r4-examples/resources', /\.json$/).map((file) => readFixture<Resource>(file));
  for (const file of [...fixtureFiles('synthea/hiv-2021'), ...fixtureFiles('synthea/smart-2019')]) {
    for (const entry of readFixture<Bundle>(file).entry ?? []) if (entry.resource) resources.push(entry.resource);
  }
  return resources;
}

describe('fast-path evaluation of search expressions', () => {
  const registry = baseRegistry();
  const resources = corpus();
  const types = [...new Set(resources.map((r) => r.resourceType))].sort();

  it('covers most parameters of the types the fixtures hold', () => {
    const defs = types.flatMap((type) => indexedParameters(registry, type));
    const fast = defs.filter((def) => compileFastPath(def.expression as string, def.base, splitUnion));
    expect(resources.length).toBeGreaterThan(10000);
    expect(fast.length / defs.length).toBeGreaterThan(0.8);
  });

  it.each(types)('%s: every covered parameter gives what fhirpath.js gives', (type) => {
    const ofType = resources.filter((r) => r.resourceType === type);
    const mismatches: string[] = [];
    for (const def of indexedParameters(registry, type)) {
      const fast = compileFastPath(def.expression as string, def.base, splitUnion);
      if (!fast) continue;
      const slow = fhirpathTypedEvaluator(def.expression as string);
      const untyped = fhirpath.compile(def.expression as string, r4Model);
      for (const resource of ofType) {
        const expected = JSON.stringify(slow(resource));
        const actual = JSON.stringify(fast(resource));
        if (actual !== expected) mismatches.push(`${def.code} on ${type}/${resource.id}: ${actual.slice(0, 200)} ≠ ${expected.slice(0, 200)}`);
        // the untyped evaluation (Patient compartment membership) is the same walk, values only
        const values = JSON.stringify(def.evaluate(resource));
        const fhirpathValues = JSON.stringify(untyped(resource as never));
        if (values !== fhirpathValues) mismatches.push(`${def.code} (untyped) on ${type}/${resource.id}: ${values.slice(0, 200)} ≠ ${fhirpathValues.slice(0, 200)}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it.each([
    ['Observation.code', 'Observation', true],
    ['(Observation.value.ofType(Quantity)) | (Observation.component.value.ofType(Quantity))', 'Observation', true],
    ["Patient.telecom.where(system='email')", 'Patient', true],
    ["Observation.subject.where((reference.startsWith('Patient/') or reference.contains('/Patient/')))", 'Observation', true],
    ['Observation.effective', 'Observation', true], // a choice ending the path
    ['Observation.value.code', 'Observation', false], // a choice followed by a member
    ['Patient.name.first()', 'Patient', false],
    ["Observation.code.coding.where(code.startsWith('1'))", 'Observation', false],
    ['Observation.nope', 'Observation', false],
    ['Patient.name', 'Observation', false],
  ])('%s on %s → fast path %s', (expression, base, covered) => {
    expect(compileFastPath(expression, base, splitUnion) !== undefined).toBe(covered);
  });
});
