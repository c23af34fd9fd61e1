/** Reading the shared FHIR fixtures (test/fixtures, copied from ../shared/fixtures): plain or gzip JSON, with or without a UTF-8 BOM. */
import type { Bundle } from 'fhir/r4';
import { FHIR_JSON, type TestServer } from '../support/server';
import { FIXTURES, fixtureFiles, readFixture } from '../support/fixtures-dir';

export { FIXTURES, fixtureFiles, readFixture };

/** POSTs a Bundle to the FHIR base. */
export function postBundle(server: TestServer, token: string, bundle: unknown, prefer?: string) {
  const req = server.request.post('/fhir').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON);
  if (prefer) req.set('Prefer', prefer);
  return req.send(JSON.stringify(bundle));
}

export type AnyBundle = Bundle & Record<string, unknown>;
