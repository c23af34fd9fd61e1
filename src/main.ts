/**
 * `npm start`: starts the embedded PostgreSQL when no DATABASE_URL is set,
 * migrates, listens, and on SIGTERM/SIGINT stops accepting, lets in-flight
 * requests finish (10 s at most), stops workers and the embedded database,
 * and exits 0.
 *
 * With WORKERS > 1 this process is a node:cluster primary: it starts the
 * database, migrates and makes the development keys once, then forks the
 * server processes, which share the port (stateless: everything they share
 * is in PostgreSQL). The notification worker runs in the first one only. A
 * server process that dies is replaced; SIGTERM/SIGINT is passed on to them,
 * and the primary stops the database once they have all exited.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config';
import { createLogger } from './http/logging';
import { startEmbedded, type EmbeddedDatabase } from './store/embedded';
import { migrate, openDb } from './store/db';
import { loadLocalKeys, localIssuerOf } from './identity/local-keys';
import { createCarnet } from './server';

const SHUTDOWN_GRACE_MS = 10_000;

async function startDatabase(config: Config, logger: Logger): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embedded = await startEmbedded(config.dataDir, config.embeddedPort, (message) => logger.debug({ postgres: message.trim() }));
  logger.info({ dataDir: config.dataDir, port: config.embeddedPort }, 'embedded PostgreSQL started');
  try {
    return { url: await embedded.ensureDatabase('carnet'), embedded };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

/** One server process: the Carnet app on the port, until a signal. */
async function serve(config: Config, logger: Logger): Promise<void> {
  const { url, embedded } = await startDatabase(config, logger);
  let carnet: Awaited<ReturnType<typeof createCarnet>>;
  try {
    carnet = await createCarnet(config, url, logger);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const server: Server = carnet.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ url: `${config.baseUrl}/fhir`, host: config.host, port, pid: process.pid, ...(cluster.isWorker ? { worker: cluster.worker?.id } : {}) }, 'Carnet listening');
  });
  server.keepAliveTimeout = 5000;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(timer);
    await carnet.close();
    await embedded?.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The cluster primary: the database, migrations and keys once, then WORKERS server processes. */
async function primary(config: Config, logger: Logger): Promise<void> {
  const { url, embedded } = await startDatabase(config, logger);
  try {
    const db = openDb(url, 1);
    await migrate(db).finally(() => db.destroy());
    await loadLocalKeys({ dir: config.devKeyDir, issuer: localIssuerOf(config) }); // made once, read by every process
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  let stopping = false;
  const slots = new Map<Worker, number>();
  const fork = (slot: number) => {
    const worker = cluster.fork({ DATABASE_URL: url, NOTIFY_WORKER: slot === 0 && config.notify.worker ? 'on' : 'off' });
    slots.set(worker, slot);
  };
  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.get(worker) ?? 0;
    slots.delete(worker);
    if (stopping) return;
    logger.error({ worker: worker.id, code, signal }, 'server process died; starting another');
    fork(slot);
  });
  for (let slot = 0; slot < config.workers; slot++) fork(slot);
  logger.info({ workers: config.workers }, 'server processes started');

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down the server processes');
    const exited = [...slots.keys()].map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once('exit', () => resolve()))));
    for (const worker of slots.keys()) worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const worker of slots.keys()) worker.process.kill('SIGKILL');
    }, SHUTDOWN_GRACE_MS + 5_000);
    await Promise.all(exited);
    clearTimeout(timer);
    await embedded?.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (cluster.isPrimary && config.workers > 1) return primary(config, logger);
  return serve(config, logger);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
