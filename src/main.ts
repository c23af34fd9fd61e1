/**
 * `npm start`: starts the embedded PostgreSQL when no DATABASE_URL is set,
 * migrates, listens, and on SIGTERM/SIGINT stops accepting, lets in-flight
 * requests finish (10 s at most), stops workers and the embedded database,
 * and exits 0.
 */
import type { Server } from 'node:http';
import { loadConfig } from './config';
import { createLogger } from './http/logging';
import { startEmbedded } from './store/embedded';
import { createCarnet } from './server';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const embedded = config.databaseUrl ? undefined : await startEmbedded(config.dataDir, config.embeddedPort, (message) => logger.debug({ postgres: message.trim() }));
  if (embedded) logger.info({ dataDir: config.dataDir, port: config.embeddedPort }, 'embedded PostgreSQL started');
  let carnet: Awaited<ReturnType<typeof createCarnet>>;
  try {
    carnet = await createCarnet(config, config.databaseUrl ?? (await embedded!.ensureDatabase('carnet')), logger);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const server: Server = carnet.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ url: `${config.baseUrl}/fhir`, host: config.host, port }, 'Carnet listening');
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

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
