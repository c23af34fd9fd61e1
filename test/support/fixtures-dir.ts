/**
 * Where the test fixtures are (`test/fixtures`, copied from `../shared/fixtures` with their origins and licences in its README.md and MANIFEST.json;
 * CARNET_FIXTURES overrides), and reading them: plain or gzip JSON, with or
 * without a UTF-8 BOM.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export const FIXTURES = process.env.CARNET_FIXTURES ?? path.resolve(__dirname, '..', 'fixtures');

/** A fixture file, `relative` to FIXTURES, parsed. */
export function readFixture<T = Record<string, unknown>>(relative: string): T {
  const raw = fs.readFileSync(path.join(FIXTURES, relative));
  const text = (relative.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  return JSON.parse(text.replace(/^\uFEFF/, '')) as T;
}

/** The JSON files of a fixture folder, relative to FIXTURES, sorted. */
export function fixtureFiles(dir: string, pattern: RegExp = /\.json(\.gz)?$/): string[] {
  return fs
    .readdirSync(path.join(FIXTURES, dir))
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => `${dir}/${name}`);
}
