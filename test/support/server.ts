/** A Carnet instance on its own test database, with a token mint for each kind of caller. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import type { Resource } from 'fhir/r4';
import { loadConfig } from '../../src/config';
import { createCarnet, type Carnet } from '../../src/server';
import { createLogger } from '../../src/http/logging';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { testDatabase, type TestDatabase } from './database';

export const BASE = 'http://carnet.test';

export interface TestServer {
  carnet: Carnet;
  request: supertest.Agent;
  token: (claims: { sub?: string; fhirUser?: string; scope: string }) => Promise<string>;
  patientToken: (patientId: string, scope?: string) => Promise<string>;
  systemToken: (clientId: string, scope?: string) => Promise<string>;
  practitionerToken: (practitionerId: string, scope?: string) => Promise<string>;
  close: () => Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const database: TestDatabase = await testDatabase();
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-keys-'));
  const config = loadConfig({ BASE_URL: BASE, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'silent', ...env });
  const carnet = await createCarnet(config, database.url, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));
  const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE });
  const token = (claims: { sub?: string; fhirUser?: string; scope: string }) =>
    keys.issueToken({ sub: claims.sub ?? claims.fhirUser ?? 'test-client', ...claims }, { expiresIn: '1h' });
  return {
    carnet,
    request: supertest.agent(carnet.app),
    token,
    patientToken: (id, scope = 'patient/*.*') => token({ sub: `patient-${id}`, fhirUser: `Patient/${id}`, scope }),
    systemToken: (id, scope = 'system/*.*') => token({ sub: id, scope }),
    practitionerToken: (id, scope = 'user/*.*') => token({ sub: `prac-${id}`, fhirUser: `Practitioner/${id}`, scope }),
    close: async () => {
      await carnet.close();
      await database.drop();
      fs.rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

export const FHIR_JSON = 'application/fhir+json';

/** POSTs or PUTs a resource with a token and returns the supertest response. */
export function send(server: TestServer, method: 'post' | 'put', url: string, token: string, body: Resource | unknown) {
  return server.request[method](`/fhir/${url}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}

export function get(server: TestServer, url: string, token: string) {
  return server.request.get(`/fhir/${url}`).set('Authorization', `Bearer ${token}`);
}
