/**
 * The composition root: builds every part of Carnet from the configuration
 * and a database URL, and returns the Express app with a close() that stops
 * what was started. Holds no logic of its own.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { CodeSystem, ValueSet } from 'fhir/r4';
import type { Config } from './config';
import { openDb, migrate, type Db } from './store/db';
import { PoolExecutor, type Executor } from './store/executor';
import { PlannerStatistics } from './store/statistics';
import { ReadBatches } from './store/read-batches';
import { PatientCompartment } from './kernel/compartment';
import { buildRouter } from './api/routes';
import { bundleInteraction } from './api/bundle/interaction';
import { everythingInteraction } from './api/interactions/everything';
import { allResourceTypes } from './kernel/definitions';
import { createApp } from './http/app';
import { ConformanceCatalogue } from './conformance/catalogue';
import { buildCapabilityStatement } from './conformance/capability';
import { ACCESS_DEFINITION, VERIFY_AUDIT_DEFINITION } from './conformance/operations';
import { isConformanceType } from './kernel/resource-types';
import { HISTORY_SEARCH_PARAMETERS } from './audit/history-query';
import { CarnetAccessPolicy } from './access/policy';
import { AccessIndexer, composeIndexers } from './access/indexer';
import { DocumentAudiences } from './access/audience';
import { createValidator } from './validation';
import { createIdentity } from './identity/authenticate';
import { RoleCache } from './identity/role-cache';
import { AuditTrail } from './audit/trail';
import { AuditLog } from './audit/audit-log';
import { AuditStage, type RecordedSession } from './audit/audited';
import { AuditAccessHistory } from './audit/access-history';
import { NotificationHolds } from './audit/hidden-events';
import { Sessions } from './api/session';
import { Pipeline } from './api/pipeline';
import { NotificationWorker } from './notify/worker';
import { createAccountMessages, type AccountMessageService } from './notify/account-messages';
import type { MessageTransport } from './notify/transports';
import { createSearchEngine } from './search';
import { CursorCodec } from './search/paging';
import { Sealer } from './kernel/sealed';
import { serverSecret } from './store/secrets';
import { identityIndexer } from './store/identities';
import { BinaryContentIndexer, BinaryContents } from './store/binary-contents';
import type { PatientSpaces } from './access/write-rules';
import { createAccounts, type Accounts } from './accounts';
import { SpaceLifecycleJob } from './accounts/spaces';
import { erasePatient } from './accounts/erasure';
import { systemClock, type Clock } from './accounts/clock';
import { accountRoutes } from './http/accounts';
import { accountExportRoutes } from './http/account-export';
import { appStaticRoutes } from './http/app-static';
import { SpaceExport } from './accounts/export';
import { terminologyOperations } from './terminology/operations';
import { TERMINOLOGY_OPERATIONS } from './terminology/capabilities';
import { oauthRoutes } from './http/oauth';
import { createBackendServices } from './identity/backend-services';
import { smartEndpoints } from './identity/smart-configuration';

export interface Carnet {
  app: ReturnType<typeof createApp>;
  /** Sessions for a caller (tests and scripts reach the interactions as the pipeline does). */
  sessions: Sessions;
  pipeline: Pipeline;
  /** The pool, through the store's executor. */
  sql: Executor;
  /** The knex instance (migrations, tests' own SQL). */
  db: Db;
  audit: { trail: AuditTrail; log: AuditLog; worker: NotificationWorker; holds: NotificationHolds };
  /** The account-message outbox (§7): the AccountMessages port, its worker and its transports. */
  accountMessages: AccountMessageService;
  /** The patient's door (§7): its services and the space lifecycle (tests move its clock and run its job). */
  accounts: Accounts;
  close: () => Promise<void>;
}

/** What the composition takes besides the configuration (tests). */
export interface CarnetOptions {
  /** Every account message goes through this transport (tests: a LoopbackTransport), not SMTP or the development outbox. */
  accountMessageTransport?: MessageTransport;
  /** The accounts' clock (tests move it instead of waiting six weeks); by default the system's. */
  clock?: Clock;
  /**
   * Compile each type's JSON schema validator on its first use instead of all at start (about
   * 1.6 s of CPU). Tests start a server per suite and use few types; production compiles at start.
   */
  lazyValidation?: boolean;
}

const ROOT = path.resolve(__dirname, '..');
const VERSION = '0.1.0';

export async function createCarnet(config: Config, databaseUrl: string, logger: Logger, options: CarnetOptions = {}): Promise<Carnet> {
  const db = openDb(databaseUrl);
  await migrate(db);
  const statistics = new PlannerStatistics((): Executor => sql); // ANALYZE right after a large transaction Bundle
  const sql: PoolExecutor = new PoolExecutor(db, statistics);
  const validator = await createValidator({ profilesDir: path.join(ROOT, 'profiles') });
  if (!options.lazyValidation) validator.warmUp(); // no request waits for a schema compile
  const baseUrl = `${config.baseUrl}/fhir`;
  const secret = await serverSecret(sql, 'search-cursor'); // one per database: links open in every process
  const cursors = new CursorCodec(secret);
  const search = createSearchEngine({ profilesDir: path.join(ROOT, 'profiles'), baseUrl, cursors });
  const compartment = new PatientCompartment(search.registry, baseUrl);
  const roles = new RoleCache(databaseUrl);
  await roles.start();
  // Whether a space takes submissions is the accounts' answer (§7); they are built below, on the pipeline.
  const spaces: PatientSpaces = { isOpen: (patientId) => accounts.lifecycle.isOpen(patientId) };
  const policy = new CarnetAccessPolicy({ compartment, validator, baseUrl, spaces, accessHistory: (on) => new AuditAccessHistory(on) });
  const audiences = new DocumentAudiences({ grid: policy.grid, inCompartment: (type) => compartment.has(type), accessHistory: (on) => new AuditAccessHistory(on), baseUrl });
  const sessions = new Sessions({
    baseUrl,
    pageTokens: new Sealer(secret, 'history page'),
    validator,
    registry: search.registry,
    compartment,
    search,
    policy,
    indexer: composeIndexers(identityIndexer, search.indexer, new AccessIndexer(policy.grid, baseUrl), new BinaryContentIndexer(baseUrl), roles.notifier),
    sql,
    reads: new ReadBatches(sql),
  });

  const binaryContents = new BinaryContents(sql); // raw Binaries' bytes (§9): staged uploads, ITI-68 reads
  await binaryContents.sweep(); // uploads a stopped process left unbound
  const catalogue = new ConformanceCatalogue();
  catalogue.loadDirectory(path.join(ROOT, 'profiles'));
  catalogue.loadDirectory(path.join(ROOT, 'terminology'));
  for (const definition of search.registry.definitions()) catalogue.add(definition);
  catalogue.add(VERIFY_AUDIT_DEFINITION);
  catalogue.add(ACCESS_DEFINITION);
  const capability = buildCapabilityStatement({
    baseUrl,
    registry: search.registry,
    profiles: validator.profileDefinitions().map((definition) => ({ url: definition.url, type: definition.type })),
    version: VERSION,
    operations: [
      // $validate reads the instance from the store: not on the read-only conformance types
      { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate', types: [...allResourceTypes()].filter((type) => !isConformanceType(type)) },
      { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything', types: ['Patient'] },
      { name: 'verify-audit', definition: VERIFY_AUDIT_DEFINITION.url as string, types: ['Patient'] },
      { name: 'access', definition: ACCESS_DEFINITION.url as string, types: ['DocumentReference'] }, // §10: who can see this document, and why
      // $meta (GET/POST): instance (also on a version) the read's meta; type and system the union over the rows the caller may read
      { name: 'meta', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-meta', types: [...allResourceTypes()] },
      { name: 'meta', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-meta' },
      // $meta-add / $meta-delete (also on a version): in place, with an update's rights, on the types clients write
      ...['meta-add', 'meta-delete'].map((name) => ({ name, definition: `http://hl7.org/fhir/OperationDefinition/Resource-${name}`, types: [...allResourceTypes()].filter((type) => !isConformanceType(type) && type !== 'AuditEvent') })),
      ...TERMINOLOGY_OPERATIONS.map((op) => ({ ...op, types: [...op.types] })),
    ],
    recorded: { type: 'AuditEvent', searchParams: HISTORY_SEARCH_PARAMETERS },
    oauth: { token: smartEndpoints(config.baseUrl).token },
    features: { batch: true, transaction: true, search: true, cors: config.corsOrigins.length > 0 },
  });
  catalogue.add(capability);
  const terminology = terminologyOperations([...catalogue.all('CodeSystem'), ...catalogue.all('ValueSet')] as Array<CodeSystem | ValueSet>, { baseUrl, version: VERSION });
  const holds = new NotificationHolds(sql, (caller, type) => policy.readable(caller, type));
  const worker = new NotificationWorker({ db: sql, settings: config.notify, logger, holds });
  const trail = new AuditTrail(sql, { digestMinutes: config.notify.digestMinutes, onStored: () => worker.wake() });
  const auditLog = new AuditLog(sql);
  const audit = new AuditStage(trail, { observer: baseUrl });
  const router = buildRouter({
    catalogue,
    capabilityStatement: () => capability,
    auditLog,
    auditVerifiers: config.auditVerifiers,
    terminology,
    // Every entry of a batch or transaction comes back through the pipeline's route: the same
    // route table, audited with its Bundle. The sessions it is given are the pipeline's own.
    bundle: bundleInteraction((request, session) => pipeline.route(request, session as RecordedSession)),
    everything: everythingInteraction,
    binaryContents,
    // DocumentReference/$access (§10): the audience read on the pool, every verdict decide()'s
    documentAudience: {
      of: (id, reader) => audiences.of(sql, id, reader),
      professionDisplay: (code) => policy.grid.file.professions[code]?.display,
    },
  });
  const pipeline = new Pipeline(sessions, audit, router, baseUrl);
  const accountMessages = await createAccountMessages({
    db: sql,
    logger,
    settings: config.notify,
    devOutboxDir: config.devOutboxDir,
    transport: options.accountMessageTransport,
    worker: { databaseUrl },
  });
  if (config.notify.worker) {
    worker.start();
    await accountMessages.start(logger);
  }

  const identity = await createIdentity(config, sql, roles);
  const clock = options.clock ?? systemClock;
  const accounts = createAccounts({
    sql,
    secret: await serverSecret(sql, 'account-keys'),
    clock,
    messages: accountMessages,
    fhir: pipeline,
    localKeys: identity.localKeys,
    erase: (trx, patientId) => erasePatient(trx, patientId, { baseUrl }),
    record: (records) => trail.record(records),
    observer: baseUrl,
    retentionYears: config.accounts.retentionYears,
    rateWindowMs: config.accounts.rateWindowMs,
  });
  const lifecycleJob = new SpaceLifecycleJob(accounts.lifecycle, 60_000, (error) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'account lifecycle job failed'));
  if (config.notify.worker) lifecycleJob.start();
  // The token endpoint's grants: client_credentials is its own; other parts add theirs here (refresh_token).
  const backend = createBackendServices({ baseUrl: config.baseUrl, clientsFile: config.clientsFile, sql, localKeys: identity.localKeys, grants: { refresh_token: (params) => accounts.services.refresh(params.refresh_token, params.space) } });
  const mounts = [
    oauthRoutes({ token: (params) => backend.tokenEndpoint.answer(params), smartConfiguration: backend.smartConfiguration, jwks: backend.jwks, logger }),
    accountRoutes({
      accounts: accounts.services,
      authenticate: identity.authenticate,
      logger,
      counters: accounts.counters,
      windowMs: config.accounts.rateWindowMs,
      failuresPerIp: config.accounts.failuresPerIp,
      failuresPerAccount: config.accounts.failuresPerAccount,
    }),
    // GET /account/export (§7): the space's Bundle, streamed, asked of the pipeline as the caller.
    accountExportRoutes({ authenticate: identity.authenticate, export: new SpaceExport({ fhir: pipeline, baseUrl }), logger }),
    // GET /app/ (§10): the patient's web application, a client of the routes above and of /fhir.
    appStaticRoutes({ dir: config.appDir, logger }),
  ];
  const app = createApp({
    mount: (express) => mounts.forEach((mount) => mount(express)),
    pipeline,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    binaries: { contents: binaryContents, maxBinaryBytes: config.maxBinaryBytes },
    corsOrigins: config.corsOrigins,
    authenticate: identity.authenticate,
    ready: async () => {
      await sql.query('SELECT 1');
      return true;
    },
  });
  const close = async () => {
    await lifecycleJob.stop();
    await worker.stop();
    await accountMessages.close();
    await roles.close();
    await trail.close();
    await statistics.close();
    await db.destroy();
  };
  return { app, sessions, pipeline, sql, db, audit: { trail, log: auditLog, worker, holds }, accountMessages, accounts, close };
}
