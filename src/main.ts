/**
 * `npm start`: starts the embedded PostgreSQL when no DATABASE_URL is set,
 * migrates, listens, and on SIGTERM/SIGINT (to the process or its group) stops
 * accepting, lets in-flight requests finish (10 s at most), stops workers and
 * then the embedded database (which never gets the group's signal), and exits
 * 0. A start-up failure is one line on stderr naming its cause, exit 1.
 *
 * With WORKERS > 1 this process is a node:cluster primary: it starts the
 * database, migrates and makes the development keys once, then forks the
 * server processes, which share the port (stateless: everything they share
 * is in PostgreSQL). The notification worker runs in the first one only. A
 * server process that dies is replaced; SIGTERM/SIGINT is passed on to them,
 * and the primary stops the database once they have all exited.
 */
import cluster, { type Worker } from 'node:cluster';
import net, { type Socket } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config';
import { createLogger } from './http/logging';
import { startEmbedded, type EmbeddedDatabase } from './store/embedded';
import { migrate, openDb } from './store/db';
import { loadLocalKeys, localIssuerOf } from './identity/local-keys';
import { createCarnet } from './server';
import { answerClientErrors } from './http/client-errors';

const SHUTDOWN_GRACE_MS = 10_000;
const DRAIN_SETTLE_MS = 1_000;
const ACCEPT_GRACE_MS = 100;

async function startDatabase(config: Config, logger: Logger): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embedded = await startEmbedded(config.dataDir, config.embeddedPort);
  logger.info({ dataDir: config.dataDir, port: embedded.port }, 'embedded PostgreSQL started');
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
  let server: Server;
  let connections: Map<Socket, Connection>;
  try {
    server = await listen(carnet, config);
    connections = trackConnections(server);
  } catch (error) {
    await carnet.close();
    await embedded?.stop();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ url: `${config.baseUrl}/fhir`, host: config.host, port, pid: process.pid, ...(cluster.isWorker ? { worker: cluster.worker?.id } : {}) }, 'Carnet listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await drain(server, connections);
    await carnet.close(); // background workers, the audit trail, the pool
    await embedded?.stop(); // last: in its own session, no signal to the group has reached it
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Listens on PORT/HOST; a port in use or a host that cannot be bound names the setting to change. */
function listen(carnet: Awaited<ReturnType<typeof createCarnet>>, config: Config): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = answerClientErrors(carnet.app.listen(config.port, config.host)); // 431/400 as OperationOutcomes
    server.keepAliveTimeout = 5000;
    server.once('listening', () => resolve(server));
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new Error(`port ${config.port} on ${config.host} is taken (another Carnet or service listens there); set PORT to a free port`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new Error(`HOST ${config.host} is not an address of this machine (${error.code}); set HOST`));
      else if (error.code === 'EACCES') reject(new Error(`port ${config.port} needs privileges this process lacks (EACCES); set PORT above 1023`));
      else reject(error);
    });
  });
}

interface Connection {
  busy: boolean;
  /** When it was accepted, or its last answer finished. */
  idleSince: number;
}

/** The server's connections, each with whether it is answering a request now. */
function trackConnections(server: Server): Map<Socket, Connection> {
  const connections = new Map<Socket, Connection>();
  server.on('connection', (socket: Socket) => {
    connections.set(socket, { busy: false, idleSince: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const connection = connections.get(req.socket);
    if (!connection) return;
    connection.busy = true;
    res.once('close', () => Object.assign(connection, { busy: false, idleSince: Date.now() }));
  });
  return connections;
}

/**
 * Stops accepting (after a turn of the loop, so connections waiting in the backlog are accepted,
 * not reset) and lets requests in flight finish (SHUTDOWN_GRACE_MS at most). Every answer given
 * during the drain closes its connection; a connection idle for DRAIN_SETTLE_MS is closed — also
 * one accepted whose request a busy loop has not read yet gets that long, and is closed only after
 * a poll phase has had the chance to read it.
 */
async function drain(server: Server, connections: Map<Socket, Connection>): Promise<void> {
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => res.setHeader('Connection', 'close'));
  await new Promise((resolve) => setTimeout(resolve, ACCEPT_GRACE_MS));
  // net.Server's close stops listening only; http.Server's would also drop every connection idle right now.
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  const idleTooLong = () => [...connections].filter(([, c]) => !c.busy && Date.now() - c.idleSince >= DRAIN_SETTLE_MS).map(([socket]) => socket);
  const sweep = setInterval(() => {
    const candidates = idleTooLong();
    setImmediate(() => {
      for (const socket of candidates) if (connections.get(socket)?.busy === false) socket.destroy(); // still idle after the poll phase
    });
  }, 50);
  const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await closed;
  clearInterval(sweep);
  clearTimeout(timer);
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
  loaded = config;
  const logger = createLogger(config.logLevel);
  if (cluster.isPrimary && config.workers > 1) return primary(config, logger);
  return serve(config, logger);
}

/** A start-up failure in one line that names its cause (never a bare `undefined`). */
function startupFailure(error: unknown, config: Config | undefined): string {
  const message = error instanceof Error ? error.message : `${String(error)} (no further detail)`;
  const code = (error as { code?: string })?.code;
  if (config?.databaseUrl && code && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|28P01|28000|3D000)$/.test(code)) {
    const target = new URL(config.databaseUrl);
    return `cannot use the database of DATABASE_URL (${target.hostname}:${target.port || 5432}${target.pathname}): ${message} [${code}]`;
  }
  return message;
}

let loaded: Config | undefined;
main().catch((error) => {
  console.error(`Carnet could not start: ${startupFailure(error, loaded)}`);
  process.exit(1);
});
