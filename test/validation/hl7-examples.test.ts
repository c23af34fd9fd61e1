/**
 * Every official HL7 R4 example resource of the fixtures is accepted: no
 * error-level issue. No exception is needed today; should one become
 * necessary (an example that genuinely breaks an invariant the HL7 validator
 * also flags), list it in EXCEPTIONS with the key and the reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../support/fixtures-dir';
import { createValidator, isErrorIssue, type CarnetValidator } from '../../src/validation';

const dir = path.join(FIXTURES, 'hl7-r4-examples', 'resources');
const files = fs.readdirSync(dir).filter((name) => name.endsWith('.json')).sort();

/** file → reason. Keep minimal. */
const EXCEPTIONS: Record<string, string> = {};

let validator: CarnetValidator;
beforeAll(async () => {
  validator = await createValidator();
  validator.warmUp(); // as the server does at start: every type's schema compiles
});

describe('official HL7 R4 examples', () => {
  it('covers the 119 fixture files', () => {
    expect(files.length).toBe(119);
  });

  it.each(files.filter((file) => !(file in EXCEPTIONS)))('%s has no error', (file) => {
    const resource: unknown = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    expect(validator.validate(resource).filter(isErrorIssue)).toEqual([]);
  });

  it('does not change the resource it validates', () => {
    const text = fs.readFileSync(path.join(dir, 'Patient-example.json'), 'utf8');
    const resource: unknown = JSON.parse(text);
    validator.validate(resource);
    expect(resource).toEqual(JSON.parse(text));
  });
});
