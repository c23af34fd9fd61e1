/**
 * The invariant guard (src/validation/invariant-guard.ts) only spares
 * evaluations: which names it keys on, and, over the HL7 R4 examples, a
 * Synthea bundle and resources breaking invariants, the same issues with the
 * guard as without it.
 */
import type { Bundle } from 'fhir/r4';
import { referencedNames } from '../../src/validation/invariant-guard';
import { InvariantEngine } from '../../src/validation/invariants';
import { BaseValidation } from '../../src/validation/base-validation';
import { ElementModel } from '../../src/kernel/element-model';
import { sharedSchemaValidator } from '../../src/validation/schema';
import { fixtureFiles, readFixture } from '../support/fixtures-dir';

/** Operator keywords may come back as names: harmless (no element bears them), left out of the comparison. */
const KEYWORDS = new Set(['and', 'or', 'xor', 'implies', 'in', 'contains', 'div', 'mod', 'is', 'as', 'true', 'false']);

describe('referencedNames', () => {
  it.each<[string, string[] | undefined]>([
    ['contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()', ['contained']],
    ['value.empty() or system.exists()', ['value', 'system']],
    ['(identifier.count() + name.count()) > 0', ['identifier', 'name']],
    ["code.coding.where(system = 'http://loinc.org' and code = 'x').exists() implies value.exists()", ['code', 'system', 'and', 'value', 'implies']],
    ['a.where(b.c.exists()).d', ['a', 'b']],
    // a function called on the node itself: names after it navigate from the node, so all count
    ['ofType(Quantity).value > 0', ['ofType', 'Quantity', 'value']],
    ['exists() and value.code.empty()', ['exists', 'and', 'value', 'code', 'empty']],
    // strings are not names
    ["system = 'contained.meta'", ['system']],
    // looking beyond the node's own elements: never guarded
    ['%resource.contained.empty()', undefined],
    ['$this.value.exists()', undefined],
    ['hasValue() or children().exists()', undefined],
    ['descendants().where(x).empty()', undefined],
  ])('%s', (expression, names) => {
    const found = referencedNames(expression);
    if (names === undefined) expect(found).toBeUndefined();
    else expect([...(found ?? [])].filter((name) => !KEYWORDS.has(name)).sort()).toEqual(names.filter((name) => !KEYWORDS.has(name)).sort());
  });
});

function corpus(): unknown[] {
  const resources: unknown[] = fixtureFiles('hl7-r4-examples/resources', /\.json$/).map((file) => readFixture(file));
  for (const entry of readFixture<Bundle>(fixtureFiles('synthea/smart-2019')[0]).entry ?? []) resources.push(entry.resource);
  return resources;
}

/** Resources breaking invariants whose roots are nested (the guard must not skip them). */
const breaking: unknown[] = [
  { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O', meta: { versionId: '1' } }], managingOrganization: { reference: '#o' }, meta: { profile: ['http://example.org/p'] } },
  { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O', meta: { security: [{ code: 'x' }] } }], managingOrganization: { reference: '#o' } },
  { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'O', contained: [{ resourceType: 'Patient', id: 'p' }] }], managingOrganization: { reference: '#o' } },
  { resourceType: 'Organization', meta: { versionId: '1' }, telecom: [{ value: '1' }] },
  { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 3, code: 'mg' }, component: [{ code: { text: 'c' }, valueQuantity: { value: 1, code: 'mg' } }] },
  { resourceType: 'Patient', contact: [{ gender: 'female', period: { start: '2021-05-02', end: '2021-05-01' } }] },
];

describe('the guard changes no outcome', () => {
  const model = new ElementModel();
  const schema = sharedSchemaValidator();
  const guarded = new BaseValidation(model, schema, new InvariantEngine());
  const unguarded = new BaseValidation(model, schema, new InvariantEngine({ guard: false }));

  it('on the HL7 examples, a Synthea bundle and invariant-breaking resources', () => {
    const resources = [...corpus(), ...breaking];
    expect(resources.length).toBeGreaterThan(200);
    let invariantIssues = 0;
    for (const resource of resources) {
      const expected = unguarded.validate(resource);
      expect(guarded.validate(resource)).toEqual(expected);
      invariantIssues += expected.issues.filter((issue) => issue.code === 'invariant').length;
    }
    expect(invariantIssues).toBeGreaterThanOrEqual(breaking.length); // the comparison saw failures, not only passes
  });
});
