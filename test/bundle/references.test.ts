/** The reference walk of a Bundle resource: what is rewritten, what is collected, what is left alone. */
import type { Resource } from 'fhir/r4';
import { parseConditionalReference, rewriteReferences } from '../../src/api/bundle/references';
import { FhirError } from '../../src/kernel/errors';

const BASE = 'http://carnet.test/fhir';
const targets = new Map([
  ['urn:uuid:1', 'Patient/p1'],
  ['urn:oid:1.2.3', 'Binary/b1'],
  ['http://example.org/fhir/Practitioner/x', 'Practitioner/x'],
]);
const walk = (value: unknown, key = 'reference') => {
  const resource = { resourceType: 'Observation', focus: [{ [key]: value }] } as unknown as Resource;
  const result = rewriteReferences(resource, targets, BASE, 'Bundle.entry[0].resource');
  return { value: (resource as unknown as { focus: Record<string, unknown>[] }).focus[0][key], result };
};

describe('reference rewriting', () => {
  it.each<[string, string, string]>([
    ['a urn:uuid fullUrl', 'urn:uuid:1', 'Patient/p1'],
    ['a urn:oid fullUrl', 'urn:oid:1.2.3', 'Binary/b1'],
    ['an absolute fullUrl of another base', 'http://example.org/fhir/Practitioner/x', 'Practitioner/x'],
    ['an absolute reference on our base', `${BASE}/Patient/local`, 'Patient/local'],
    ['a relative reference', 'Patient/other', 'Patient/other'],
    ['a version-specific reference', 'Patient/other/_history/3', 'Patient/other/_history/3'],
    ['a contained reference', '#contained-1', '#contained-1'],
    ['a foreign absolute reference', 'http://elsewhere.example/fhir/Patient/9', 'http://elsewhere.example/fhir/Patient/9'],
  ])('%s: %s → %s', (_name, reference, expected) => {
    expect(walk(reference).value).toBe(expected);
  });

  it('rewrites an Attachment url naming an entry to the absolute URL of its resource, and nothing else named url', () => {
    expect(walk('urn:oid:1.2.3', 'url').value).toBe(`${BASE}/Binary/b1`);
    expect(walk('http://hl7.org/fhir/StructureDefinition/x', 'url').value).toBe('http://hl7.org/fhir/StructureDefinition/x');
  });

  it('collects conditional references with their FHIRPath, and unresolved urn: references', () => {
    const conditional = walk('Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|123');
    expect(conditional.result.conditional).toHaveLength(1);
    expect(conditional.result.conditional[0]).toMatchObject({ expression: 'Bundle.entry[0].resource.focus[0].reference', reference: { type: 'Patient', query: [['identifier', 'urn:oid:1.2.250.1.213.1.4.8|123']] } });
    expect(walk('urn:uuid:unknown').result.unresolved).toEqual([{ value: 'urn:uuid:unknown', expression: 'Bundle.entry[0].resource.focus[0].reference' }]);
  });

  it('never enters a nested Bundle (a FHIR document keeps its own references)', () => {
    const document = { resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Composition', subject: { reference: 'urn:uuid:1' } } }] } as unknown as Resource;
    rewriteReferences(document, targets, BASE, 'Bundle.entry[0].resource');
    expect(JSON.stringify(document)).toContain('"reference":"urn:uuid:1"');
  });

  it.each<[string, string]>([
    ['Patient?', 'no search criteria'],
    ['Patientt?identifier=1', 'unknown resource type'],
    ['Patient?identifier=', 'empty parameter or value'],
    ['Patient?=x', 'empty parameter or value'],
  ])('the malformed conditional reference %s is a 400 (%s)', (text, message) => {
    let error: unknown;
    try {
      parseConditionalReference(text, 'Bundle.entry[0].resource.subject.reference');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(400);
    expect((error as FhirError).message).toContain(message);
  });
});
