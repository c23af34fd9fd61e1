import path from 'node:path';
import { FIXTURES } from '../support/fixtures-dir';
/**
 * The validator must not be what limits writes (≥ 500 validated creates/s on
 * 2 cores): a typical resource validates in well under a millisecond of CPU
 * (about 30-100 µs measured outside jest; jest's module sandbox makes it
 * 2-3x slower). The bound here is loose on purpose, to catch a regression of an
 * order of magnitude (a per-call compile, say) without flaking on shared CI.
 */
import fs from 'node:fs';
import { createValidator, type CarnetValidator } from '../../src/validation';

const dir = path.join(FIXTURES, 'hl7-r4-examples', 'resources');
const read = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));

let validator: CarnetValidator;
beforeAll(async () => {
  validator = await createValidator();
});

function cpuMicrosPerCall(resource: unknown, iterations: number): number {
  for (let i = 0; i < iterations / 4; i++) validator.validate(resource);
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) validator.validate(resource);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

describe('validation cost', () => {
  it.each([
    ['Patient-example.json'],
    ['DocumentReference-example.json'],
    ['Immunization-example.json'],
    ['Consent-consent-example-Emergency.json'],
  ])('%s validates in under 2 ms of CPU, even inside jest on a busy machine', (file) => {
    expect(cpuMicrosPerCall(read(file), 400)).toBeLessThan(2000);
  });
});
