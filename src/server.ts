/**
 * The composition root: builds every part of Carnet from the configuration
 * and a database URL, and returns the Express app with a close() that stops
 * what was started. Holds no logic of its own.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type express from 'express';
import type { Config } from './config';
import { openDb, migrate, type Db } from './store/db';
import { ResourceStore } from './store/resources';
import { PatientCompartment } from './fhir/compartment';
import type { FhirContext } from './fhir/context';
import { buildRouter } from './fhir/routes';
import type { FhirRouter } from './fhir/router';
import { bundleInteraction } from './fhir/bundle/interaction';
import { everythingInteraction } from './fhir/interactions/everything';
import { allResourceTypes } from './fhir/definitions';
import { createApp } from './http/app';
import { ConformanceCatalogue } from './conformance/catalogue';
import { buildCapabilityStatement } from './conformance/capability';
import { CarnetAccessPolicy } from './access/policy';
import { accessIndexer, composeIndexers } from './access/indexer';
import { createValidator } from './validation';
import { createIdentity } from './identity/authenticate';
import { RoleCache } from './identity/role-cache';
import { AuditTrail } from './audit/trail';
import { AuditLog } from './audit/audit-log';
import { AuditedRouter } from './audit/audited';
import { AuditAccessHistory } from './audit/access-history';
import { NotificationWorker } from './notify/worker';
import { createSearchEngine } from './search';

export interface Carnet {
  app: express.Express;
  ctx: FhirContext;
  db: Db;
  audit: { trail: AuditTrail; log: AuditLog; worker: NotificationWorker };
  close: () => Promise<void>;
}

const ROOT = path.resolve(__dirname, '..');
const VERSION = '0.1.0';

export async function createCarnet(config: Config, databaseUrl: string, logger: Logger): Promise<Carnet> {
  const db = openDb(databaseUrl);
  await migrate(db);
  const validator = await createValidator({ profilesDir: path.join(ROOT, 'profiles') });
  const baseUrl = `${config.baseUrl}/fhir`;
  const engine = createSearchEngine({ profilesDir: path.join(ROOT, 'profiles'), baseUrl });
  const compartment = new PatientCompartment(engine.registry);
  const roles = new RoleCache(databaseUrl);
  await roles.start();
  const store = new ResourceStore(db, composeIndexers(engine.indexer, accessIndexer, roles.notifier));
  const access = new CarnetAccessPolicy({ db, compartment, validator, accessHistory: new AuditAccessHistory(db) });
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
  for (const definition of engine.registry.definitions()) catalogue.add(definition);
  const capability = buildCapabilityStatement({
    baseUrl,
    registry: engine.registry,
    profiles: validator.knownProfiles(),
    version: VERSION,
    operations: [
      { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate', types: [...allResourceTypes()] },
      { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything', types: ['Patient'] },
    ],
    features: { batch: true, transaction: true, search: true },
  });
  catalogue.add(capability);
  const worker = new NotificationWorker({ db, settings: config.notify, logger });
  const trail = new AuditTrail(db, { digestMinutes: config.notify.digestMinutes, onStored: () => worker.wake() });
  const auditLog = new AuditLog(db);
  // Every request, and every entry of a batch or transaction, goes through the audited router.
  const router: FhirRouter = new AuditedRouter(
    buildRouter({
      catalogue,
      capabilityStatement: () => capability,
      auditLog,
      bundle: bundleInteraction((request, context) => router.route(request, context)),
      everything: everythingInteraction,
    }),
    trail,
    { observer: baseUrl },
  );
  if (config.notify.worker) worker.start();

  const identity = await createIdentity(config, db, roles);
  const app = createApp({
    ctx,
    router,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    authenticate: identity.authenticate,
    ready: async () => {
      await db.raw('SELECT 1');
      return true;
    },
  });
  const close = async () => {
    await worker.stop();
    await roles.close();
    await trail.close();
    await db.destroy();
  };
  return { app, ctx, db, audit: { trail, log: auditLog, worker }, close };
}
