/**
 * The walk over served resources (access/served-references.ts ReferencePruner):
 * which Reference elements it finds through the R4 element model, and what a
 * removed one takes with it. Pure: `hidden` names the references refused.
 */
import type { Resource } from 'fhir/r4';
import { ReferencePruner } from '../../src/access/served-references';

const pruner = new ReferencePruner();
const refused = (reference: Record<string, unknown>) => !String(reference.reference ?? '').includes('hidden');
const HIDDEN = { reference: 'DocumentReference/hidden' };
const SEEN = { reference: 'DocumentReference/seen' };

describe('ReferencePruner', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['one item of an array goes, the others stay', { resourceType: 'Observation', derivedFrom: [HIDDEN, SEEN] }, { resourceType: 'Observation', derivedFrom: [SEEN] }],
    ['an array left empty goes', { resourceType: 'Observation', status: 'final', hasMember: [HIDDEN] }, { resourceType: 'Observation', status: 'final' }],
    ['a required Reference takes its parent (List.entry.item 1..1)', { resourceType: 'List', entry: [{ flag: { text: 'f' }, item: HIDDEN }, { item: SEEN }] }, { resourceType: 'List', entry: [{ item: SEEN }] }],
    ['a required Reference takes its parent (relatesTo.target 1..1)', { resourceType: 'DocumentReference', status: 'current', relatesTo: [{ code: 'replaces', target: HIDDEN }] }, { resourceType: 'DocumentReference', status: 'current' }],
    ['the resource itself stays, even without a required element (Provenance.target 1..*)', { resourceType: 'Provenance', target: [HIDDEN], recorded: '2026-01-01T00:00:00Z' }, { resourceType: 'Provenance', recorded: '2026-01-01T00:00:00Z' }],
    ['an extension left without value goes (ext-1)', { resourceType: 'Observation', extension: [{ url: 'u', valueReference: HIDDEN }, { url: 'v', valueString: 's' }] }, { resourceType: 'Observation', extension: [{ url: 'v', valueString: 's' }] }],
    ['a nested extension goes, its emptied parent too', { resourceType: 'Observation', extension: [{ url: 'u', extension: [{ url: 'w', valueReference: HIDDEN }] }] }, { resourceType: 'Observation' }],
    ['an element left with no content goes (ele-1): Identifier.assigner', { resourceType: 'Observation', identifier: [{ assigner: HIDDEN }, { value: 'v', assigner: HIDDEN }] }, { resourceType: 'Observation', identifier: [{ value: 'v' }] }],
    ['a section keeps its title (Composition.section.entry)', { resourceType: 'Composition', section: [{ title: 't', entry: [HIDDEN] }] }, { resourceType: 'Composition', section: [{ title: 't' }] }],
    ['an extension of a primitive value', { resourceType: 'Patient', name: [{ given: ['a', 'b'], _given: [null, { extension: [{ url: 'u', valueReference: HIDDEN }] }] }] }, { resourceType: 'Patient', name: [{ given: ['a', 'b'] }] }],
    ['inside a contained resource', { resourceType: 'Observation', contained: [{ resourceType: 'Provenance', id: 'p', target: [HIDDEN, SEEN] }] }, { resourceType: 'Observation', contained: [{ resourceType: 'Provenance', id: 'p', target: [SEEN] }] }],
    ['inside a Bundle entry', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'List', entry: [{ item: HIDDEN }] } }] }, { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'List' } }] }],
    ['a plain Reference (Observation.focus), and one in the extension of a backbone element (component.extension)', { resourceType: 'Observation', focus: [HIDDEN], component: [{ code: { text: 'c' }, extension: [{ url: 'u', valueReference: HIDDEN }] }] }, { resourceType: 'Observation', component: [{ code: { text: 'c' } }] }],
  ])('%s', (_case, resource, served) => {
    const before = JSON.stringify(resource);
    expect(pruner.prune(resource as unknown as Resource, refused)).toEqual(served);
    expect(JSON.stringify(resource)).toBe(before); // the stored resource is never changed
  });

  it('a resource that loses nothing is served as the same object', () => {
    const resource = { resourceType: 'Observation', subject: SEEN, derivedFrom: [SEEN] } as unknown as Resource;
    expect(pruner.prune(resource, refused)).toBe(resource);
  });

  it('finds every Reference element, none of the strings that only look like one', () => {
    const found: unknown[] = [];
    const resource = { resourceType: 'DocumentReference', status: 'current', subject: SEEN, content: [{ attachment: { url: 'DocumentReference/hidden' } }], description: 'DocumentReference/hidden', author: [HIDDEN] } as unknown as Resource;
    pruner.visit(resource, (reference) => found.push(reference.reference));
    expect(found).toEqual(['DocumentReference/seen', 'DocumentReference/hidden']);
  });
});
