/**
 * The one way tests build Carnet: the production composition (createCarnet)
 * on a test database of its own, with a token mint for each kind of caller,
 * sessions for callers built as objects, and direct writes for seeding.
 * Every suite that needs a server or a database uses it.
 */
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
import type { Caller } from '../../src/kernel/caller';
import type { StoredResource } from '../../src/kernel/stored';
import type { RequestSession } from '../../src/api/session';
import { resolveCaller } from '../../src/identity/resolve';
import { createCallerLookup } from '../../src/identity/lookup';
import { LoopbackTransport } from '../../src/notify/transports';
import type { Logger } from 'pino';
import type { Clock } from '../../src/accounts/clock';

/** The operator every direct write is made as, unless a submitter is named. */
const OPERATOR: Caller = { kind: 'system', sub: 'test-operator', clientId: 'test-operator', scopes: [], operator: true };

export const BASE = 'http://carnet.test';

export interface TestServer {
  carnet: Carnet;
  request: supertest.Agent;
  token: (claims: { sub?: string; fhirUser?: string; scope: string }) => Promise<string>;
  patientToken: (patientId: string, scope?: string) => Promise<string>;
  systemToken: (clientId: string, scope?: string) => Promise<string>;
  practitionerToken: (practitionerId: string, scope?: string) => Promise<string>;
  /**
   * The Caller the server's identity resolves for a token with these claims
   * (a practitioner's active PractitionerRoles and a representative's
   * RelatedPerson read from the database), for `carnet.pipeline.handle`.
   */
  callerOf: (claims: { sub?: string; fhirUser?: string; scope: string }) => Promise<Caller>;
  /**
   * A second Carnet on the same database, composed as `carnet` is (with
   * `env` added to the configuration): what another server process behind
   * the same load balancer would be. The caller closes it.
   */
  sibling: (env?: Record<string, string>) => Promise<Carnet>;
  /** A session of `caller`, as the pipeline opens one (production store, search, access and audit recorder). */
  session: (caller: Caller) => RequestSession;
  /**
   * Writes a resource as `createdBy` straight through the store (no access
   * check, no audit), with production's indexers: a version 1, or the next
   * version when `Type/id` exists.
   */
  put: (resource: Resource, createdBy?: string) => Promise<StoredResource>;
  /** Deletes `Type/id` straight through the store (next version, deleted). */
  remove: (type: string, id: string) => Promise<StoredResource>;
  /**
   * Every account message (§7) the server and its siblings deliver, kept in memory instead of
   * mailed or written to files: read them with test/support/messages.ts nextMessage.
   */
  messages: LoopbackTransport;
  close: () => Promise<void>;
}

export interface TestServerOptions {
  /**
   * The database to build on (migrated by createCarnet), dropped or released
   * by close(); by default a fresh test database of jest's run. Scripts that
   * run outside jest (scripts/access-property.ts) bring their own.
   */
  database?: Pick<TestDatabase, 'url' | 'drop'>;
  /** The accounts' clock (§7 deadlines); by default the system's. */
  clock?: Clock;
  /** The server's logger; by default a silent one (TEST_LOG_LEVEL sets its level). */
  logger?: Logger;
}

export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await testDatabase());
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-keys-'));
  const config = loadConfig({ BASE_URL: BASE, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'silent', ...env });
  const logger = options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const messages = new LoopbackTransport();
  // lazily compiled schema validators: the same validators, built for the types a suite writes (1.6 s less per server)
  const composition = { accountMessageTransport: messages, clock: options.clock, lazyValidation: true };
  const carnet = await createCarnet(config, database.url, logger, composition);
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
    callerOf: (claims) => resolveCaller({ sub: claims.sub ?? claims.fhirUser ?? 'test-client', ...claims }, createCallerLookup(carnet.sql), { fhirBase: `${BASE}/fhir` }),
    sibling: (more = {}) =>
      createCarnet(loadConfig({ BASE_URL: BASE, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'silent', ...env, ...more }), database.url, logger, composition),
    session: (caller) => carnet.sessions.openAs(caller),
    messages,
    put: (resource, createdBy = 'client:test-operator') =>
      carnet.sessions.openAs(OPERATOR).transaction(async ({ store, compartment }) => {
        const patientId = compartment.patientsOf(resource)[0] ?? null;
        const current = await store.lock(resource.resourceType, resource.id as string);
        if (current) return store.writeNext(current, { resource, patientId, createdBy, method: 'PUT' });
        const inserted = await store.insert({ resource, patientId, createdBy, method: 'POST' });
        if (!inserted) throw new Error(`${resource.resourceType}/${resource.id} could not be inserted`);
        return inserted;
      }),
    remove: (type, id) =>
      carnet.sessions.openAs(OPERATOR).transaction(async ({ store }) => {
        const current = await store.lock(type, id);
        if (!current) throw new Error(`${type}/${id} missing`);
        return store.writeNext(current, { resource: null, patientId: current.patientId, createdBy: current.createdBy, method: 'DELETE' });
      }),
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
