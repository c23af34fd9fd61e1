/**
 * The validator cases of FHIR/fhir-test-cases (fixtures README §4): the
 * syntax and structure cases are rejected with an error at the right place,
 * the valid controls pass, malformed JSON never reaches the validator (the
 * HTTP layer answers 400), and the SHOULD cases are listed with what Carnet
 * does about them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../support/fixtures-dir';
import { createValidator, isErrorIssue, type CarnetValidator } from '../../src/validation';

const dir = path.join(FIXTURES, 'edge-cases', 'fhir-test-cases');

interface IndexCase {
  test: string;
  file: string;
  validJSON: boolean;
  module: string;
  expectedErrorCount: number;
}

const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { cases: IndexCase[] };
const byTest = new Map(index.cases.map((c) => [c.test, c]));

/** JSON.parse after dropping a UTF-8 byte-order mark (RFC 8259 lets a parser ignore it). */
function read(file: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8').replace(/^\uFEFF/, ''));
}

let validator: CarnetValidator;
beforeAll(async () => {
  validator = await createValidator();
});

const errorsOf = (file: string) => validator.validate(read(file)).filter(isErrorIssue);

describe('fhir-test-cases: syntax (malformed JSON, json5) is a parse failure before validation', () => {
  const syntax = index.cases.filter((c) => !c.validJSON);
  it('lists 11 such cases', () => expect(syntax.length).toBe(11));
  it.each(syntax.map((c) => [c.test, c.file]))('%s does not parse', (_test, file) => {
    expect(() => read(file)).toThrow(SyntaxError);
  });
});

/** [test, expression of the error, message contains] */
const MUST_REJECT: Array<[string, string, string]> = [
  ['attachment-with-invalid-binary', 'Media.content.data', 'base64Binary'],
  ['attachment-tx', 'Parameters.parameter[0].value.ofType(Attachment).data', 'base64Binary'],
  ['synthea', 'Encounter.reasonCode', 'must be an array, not an object'],
  ['empty-array', 'DocumentReference.category[0].coding', 'Array cannot be empty'],
  ['resource-invalid-id-1', 'Location.id', "Invalid id value '/foobar=='"],
  ['resource-invalid-id-2', 'Location.id', 'Invalid id value'],
  ['resource-invalid-id-3', 'Location.contained[0].id', "Invalid id value 'org_1'"],
  ['resource-invalid-eid-2', 'Location.position.id', 'maximum length of 1 MB'],
  ['patient-id-bad-1 / R4', 'Patient.id', "Invalid id value 'bad-id_1'"],
  ['patient-id-bad-2 / R4', 'Patient.id', "Invalid id value 'bad-id 1'"],
  ['patient-id-bad-3 / R4', 'Patient.id', 'Invalid id value'],
  ['comments-4', 'Patient.fhir_comments', "Unknown element 'fhir_comments'"],
  ['ai3', 'Patient.unknownElement', "Unknown element 'unknownElement'"],
  ['ai4', 'Patient.birthDate', "Invalid date value 'not a date'"],
  ['Observation-ex-pain.json', 'Observation.value.ofType(integer).value', "Unknown element 'value'"],
  ['Observation-ex-pain.json', 'Observation.code', "Missing required element 'code'"],
];

describe('fhir-test-cases: structure cases MUST be rejected', () => {
  it.each(MUST_REJECT)('%s → error at %s', (test, expression, message) => {
    const errors = errorsOf(byTest.get(test)!.file);
    expect(errors).toEqual(expect.arrayContaining([expect.objectContaining({ expression: [expression], message: expect.stringContaining(message) })]));
  });
});

describe('fhir-test-cases: valid controls pass', () => {
  const controls = index.cases.filter((c) => c.validJSON && c.expectedErrorCount === 0);
  it('lists 10 controls', () => expect(controls.length).toBe(10));
  it.each(controls.map((c) => [c.test, c.file]))('%s has no error', (_test, file) => {
    expect(errorsOf(file)).toEqual([]);
  });
});

const SHOULD_REJECTED: Array<[string, string, string]> = [
  ['encounter-period', 'Encounter.period', 'per-1'],
  ['attachment-with-wrong-size', 'Media.content.size', 'Stated attachment size 100'],
  ['xml-bad-entities-json', 'Encounter.text.div', "Invalid entity in the XHTML ('&reg;')"],
  ['pat-security-bad-xhtml', 'Patient.text.div', 'txt-1'],
  ['bundle-duplicate-id', 'Bundle.entry[0].fullUrl', 'must be an absolute URL'],
  ['synthea', 'Encounter.status', "Invalid code 'completed'"],
  ['obs-quantity-us', 'Observation.code', "Missing required element 'code'"],
];

/** [test, why Carnet does not reject it] */
const SHOULD_ACCEPTED: Array<[string, string]> = [
  ['pat-security-bad-string', 'HTML-looking text in a string: only with the Java validator option security-checks'],
  ['bad-markdown-no-html', 'HTML in markdown: only with the Java validator option noHtmlInMarkdown'],
  ['bundle-document-versioned-references-bad', 'reference resolution inside a Bundle: the transaction layer resolves references'],
  ['mni-patientOverview-bundle-example1b', 'reference resolution, duplicate ids and displays inside a document Bundle'],
  ['bundle-id-2', "duplicate 'self'/'first' links: a rule of search Bundles the server builds itself, not an R4 invariant"],
  ['bundle-id-3', 'search Bundle entries without ids, and displays: search Bundles are built by the server'],
];

describe('fhir-test-cases: every case is classified', () => {
  it.each(index.cases.map((c) => [c.test]))('%s', (test) => {
    const c = byTest.get(test)!;
    const tables = [
      !c.validJSON,
      c.validJSON && c.expectedErrorCount === 0,
      MUST_REJECT.some(([name]) => name === test),
      SHOULD_REJECTED.some(([name]) => name === test),
      SHOULD_ACCEPTED.some(([name]) => name === test),
    ];
    expect(tables.filter(Boolean).length).toBeGreaterThanOrEqual(1);
  });
});

describe('fhir-test-cases: SHOULD cases (invariants, narrative, bundles, terminology)', () => {
  it.each(SHOULD_REJECTED)('%s → rejected at %s', (test, expression, message) => {
    const errors = errorsOf(byTest.get(test)!.file);
    expect(errors).toEqual(expect.arrayContaining([expect.objectContaining({ expression: [expression], message: expect.stringContaining(message) })]));
  });

  it.each(SHOULD_ACCEPTED)('%s is accepted: %s', (test) => {
    const found = byTest.get(test);
    expect(found).toBeDefined();
    expect(() => validator.validate(read(found!.file))).not.toThrow();
  });

  it('bundle-with-no-type (r4) is rejected for its missing type', () => {
    expect(errorsOf('r4__bundle-with-no-type.json')).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'required', expression: ['Bundle.type'] })]),
    );
  });
});
