/**
 * A Carnet server wired the way src/access/README.md asks the composition
 * root to be wired — CarnetAccessPolicy, the access indexer next to the
 * search indexer, the purpose of use applied after authentication, and
 * checkPatientSpace on Patient reads and $everything — so the HTTP tables run
 * before src/server.ts adopts it. Once it does, `startTestServer()` replaces this.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import supertest from 'supertest';
import { loadConfig } from '../../src/config';
import { openDb, migrate } from '../../src/store/db';
import { ResourceStore } from '../../src/store/resources';
import { PatientCompartment } from '../../src/fhir/compartment';
import type { FhirContext } from '../../src/fhir/context';
import type { FhirRequest } from '../../src/fhir/request';
import { buildRouter } from '../../src/fhir/routes';
import { everythingInteraction } from '../../src/fhir/interactions/everything';
import { createApp } from '../../src/http/app';
import { ConformanceCatalogue } from '../../src/conformance/catalogue';
import { createLogger } from '../../src/http/logging';
import { createValidator } from '../../src/validation';
import { createIdentity } from '../../src/identity/authenticate';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { createSearchEngine } from '../../src/search';
import { accessIndexer, composeIndexers } from '../../src/access/indexer';
import { CarnetAccessPolicy } from '../../src/access/policy';
import { applyPurposeOfUse } from '../../src/access/purpose-of-use';
import { testDatabase } from '../support/database';
import { BASE, type TestServer } from '../support/server';

const ROOT = path.resolve(__dirname, '..', '..');

export interface AccessServer extends Omit<TestServer, 'carnet'> {
  ctx: FhirContext;
  policy: CarnetAccessPolicy;
}

export async function startAccessServer(): Promise<AccessServer> {
  const database = await testDatabase();
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-keys-'));
  const config = loadConfig({ BASE_URL: BASE, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'silent' });
  const db = openDb(database.url);
  await migrate(db);
  const validator = await createValidator({ profilesDir: path.join(ROOT, 'profiles'), lazy: true });
  const baseUrl = `${config.baseUrl}/fhir`;
  const engine = createSearchEngine({ profilesDir: path.join(ROOT, 'profiles'), baseUrl });
  const compartment = new PatientCompartment(engine.registry);
  // wiring 1: the access indexer runs after the search indexer, in the same transaction
  const store = new ResourceStore(db, composeIndexers(engine.indexer, accessIndexer));
  // wiring 2: the Carnet policy, with the validator for the consent-kind profiles
  const access = new CarnetAccessPolicy({ db, compartment, validator });
  const contextFor = (boundStore: ResourceStore): FhirContext => ({
    baseUrl,
    store: boundStore,
    validator,
    registry: engine.registry,
    compartment,
    search: engine.search(boundStore),
    access,
    inTransaction: (trx) => contextFor(store.bind(trx)),
  });
  const ctx = contextFor(store);
  const catalogue = new ConformanceCatalogue();
  catalogue.loadDirectory(path.join(ROOT, 'profiles'));
  catalogue.loadDirectory(path.join(ROOT, 'terminology'));
  const router = buildRouter({ catalogue, capabilityStatement: () => ({ resourceType: 'CapabilityStatement', status: 'active', date: '2026-11-26', kind: 'instance', fhirVersion: '4.0.1', format: ['json'] }), everything: everythingInteraction });
  const route = router.route.bind(router);
  router.route = async (request: FhirRequest, context: FhirContext) => {
    if (!request.caller) return route(request, context);
    // wiring 3: X-Purpose-Of-Use (src/http/app.ts, right after authentication)
    const caller = applyPurposeOfUse(request.caller, request.headers);
    // wiring 4: a practitioner's read of Patient/X and $everything name X's space (read.ts, everything.ts)
    const named = /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/(?:_history(?:\/[^/]+)?|\$everything))?$/.exec(request.path);
    if (named && request.method === 'GET' && (caller.kind === 'practitioner' || request.path.endsWith('$everything'))) await access.checkPatientSpace(caller, named[1]);
    return route({ ...request, caller }, context);
  };
  const identity = await createIdentity(config, db);
  const app = createApp({ ctx, router, logger: createLogger('silent'), maxBodyBytes: config.maxBodyBytes, authenticate: identity.authenticate, ready: async () => true });
  const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE });
  const token = (claims: { sub?: string; fhirUser?: string; scope: string }) => keys.issueToken({ sub: claims.sub ?? claims.fhirUser ?? 'test-client', ...claims }, { expiresIn: '1h' });
  return {
    ctx,
    policy: access,
    request: supertest.agent(app),
    token,
    patientToken: (id, scope = 'patient/*.*') => token({ sub: `patient-${id}`, fhirUser: `Patient/${id}`, scope }),
    systemToken: (id, scope = 'system/*.*') => token({ sub: id, scope }),
    practitionerToken: (id, scope = 'user/*.*') => token({ sub: `prac-${id}`, fhirUser: `Practitioner/${id}`, scope }),
    close: async () => {
      await db.destroy();
      await database.drop();
      fs.rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
