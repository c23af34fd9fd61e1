/** Reading the shared FHIR fixtures (../shared/fixtures): plain or gzip JSON, with or without a UTF-8 BOM. */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Bundle } from 'fhir/r4';
import { FHIR_JSON, type TestServer } from '../support/server';

import { FIXTURES } from '../support/fixtures-dir';

export { FIXTURES };

export function readFixture<T = Record<string, unknown>>(relative: string): T {
  const raw = fs.readFileSync(path.join(FIXTURES, relative));
  const text = (relative.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  return JSON.parse(text.replace(/^\uFEFF/, '')) as T;
}

export function fixtureFiles(dir: string, pattern: RegExp = /\.json(\.gz)?$/): string[] {
  return fs
    .readdirSync(path.join(FIXTURES, dir))
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => `${dir}/${name}`);
}

/** POSTs a Bundle to the FHIR base. */
export function postBundle(server: TestServer, token: string, bundle: unknown, prefer?: string) {
  const req = server.request.post('/fhir').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON);
  if (prefer) req.set('Prefer', prefer);
  return req.send(JSON.stringify(bundle));
}

export type AnyBundle = Bundle & Record<string, unknown>;
