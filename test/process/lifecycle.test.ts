/**
 * CONTRACT §1 as a user sees it: `npm start`'s process with the embedded
 * PostgreSQL starts, answers /readyz, survives a kill -9 of a previous run
 * (stale postmaster), and exits 0 on SIGTERM, stopping the database; SIGTERM
 * to its process group (systemd's way) lets requests in flight finish; with
 * WORKERS=2, two server processes share the port, one that dies is replaced,
 * and SIGTERM to the primary stops them all and the database. A start that
 * fails says why and what to set; a new data directory takes a free port.
 *
 * @slow — about a minute and a half
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadLocalKeys } from '../../src/identity/local-keys';

const ROOT = path.resolve(__dirname, '..', '..');

interface Running {
  child: ChildProcess;
  port: number;
  exited: Promise<number | string | null>;
  /** stdout and stderr so far. */
  output: () => string;
}

interface Started extends Running {
  /** Every `Carnet listening` line so far (one per server process). */
  listening: Array<{ pid: number; port: number }>;
}

const BASE_URL = 'http://carnet.test';

/** `npm start`'s process; `group`: in a process group of its own (pgid = its pid), as systemd runs it. */
function spawnServer(dataDir: string, pgPort: number | undefined, extra: NodeJS.ProcessEnv = {}, group = false): { child: ChildProcess; exited: Promise<number | string | null>; output: () => string } {
  const { DATABASE_URL: _database, EMBEDDED_PG_PORT: _port, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = { ...inherited, PORT: '0', BASE_URL, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...(pgPort ? { EMBEDDED_PG_PORT: String(pgPort) } : {}), ...extra };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk) => (output += chunk.toString()));
  return { child, exited, output: () => output };
}

function start(dataDir: string, pgPort: number | undefined, extra: NodeJS.ProcessEnv = {}, group = false): Promise<Started> {
  const { child, exited, output } = spawnServer(dataDir, pgPort, extra, group);
  const listening: Started['listening'] = [];
  return new Promise((resolve, reject) => {
    let buffer = '';
    let pending = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buffer.slice(-2000)}`)), 150000);
    child.stderr?.on('data', (chunk) => (buffer += chunk.toString()));
    child.stdout?.on('data', (chunk) => {
      buffer += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.includes('Carnet listening'))) {
        const parsed = JSON.parse(line) as { pid: number; port: number };
        listening.push({ pid: parsed.pid, port: parsed.port });
        clearTimeout(timer);
        resolve({ child, port: parsed.port, exited, listening, output });
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}: ${buffer.slice(-2000)}`)));
  });
}

function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'pg', 'postmaster.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

/** Processes whose command line names `dir` (the postmaster and its children carry `-D <dir>/pg`). */
function processesOf(dir: string): number[] {
  return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.join(dir, 'pg'));
    } catch {
      return false;
    }
  }).map(Number);
}

function listeningOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const blocker = net.createServer();
    blocker.once('error', reject);
    blocker.listen(port, '127.0.0.1', () => resolve(blocker));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('server process with the embedded PostgreSQL', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-life-'));
  const pgPort = 56000 + Math.floor(Math.random() * 3000);
  const clusterDirs: string[] = [];
  afterAll(async () => {
    for (const dir of [dataDir, ...clusterDirs]) {
      const pid = postmasterPid(dir);
      if (pid && alive(pid)) process.kill(pid, 'SIGQUIT');
      for (let i = 0; i < 50 && pid && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30000);

  it('recovers from a killed run and shuts down cleanly on SIGTERM', async () => {
    const first = await start(dataDir, pgPort);
    expect((await fetch(`http://127.0.0.1:${first.port}/readyz`)).status).toBe(200);
    first.child.kill('SIGKILL');
    await first.exited;
    const stale = postmasterPid(dataDir);
    expect(stale && alive(stale)).toBe(true); // the killed server left its postmaster behind

    const second = await start(dataDir, pgPort);
    expect((await fetch(`http://127.0.0.1:${second.port}/readyz`)).status).toBe(200);
    const metadata = await fetch(`http://127.0.0.1:${second.port}/fhir/metadata`);
    expect(metadata.status).toBe(200);
    const pid = postmasterPid(dataDir);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(pid && alive(pid)).toBe(false);
  }, 300000);

  it('SIGTERM to the process group: every request in flight gets its answer, then exit 0 and no postgres left', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-group-'));
    clusterDirs.push(dir);
    const running = await start(dir, pgPort + 2, {}, true);
    try {
      const keys = await loadLocalKeys({ dir: path.join(dir, 'dev-keys'), issuer: BASE_URL });
      const token = await keys.issueToken({ sub: 'loader', scope: 'system/*.*' }, { expiresIn: '1h' });
      const bundle = (n: number) => JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: Array.from({ length: 60 }, (_, i) => ({ resource: { resourceType: 'Patient', name: [{ family: `Drain${n}-${i}` }] }, request: { method: 'POST', url: 'Patient' } })),
      });
      let signalledAt = Number.POSITIVE_INFINITY;
      const inFlight = Array.from({ length: 12 }, async (_, n) => {
        const res = await fetch(`http://127.0.0.1:${running.port}/fhir`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' }, body: bundle(n) });
        await res.arrayBuffer();
        return { status: res.status, afterSignal: Date.now() > signalledAt };
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const pgid = running.child.pid as number;
      signalledAt = Date.now();
      process.kill(-pgid, 'SIGTERM');
      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      expect(answers.some((a) => a.afterSignal)).toBe(true); // the signal did come while requests were in flight
      expect(await running.exited).toBe(0);
      expect(processesOf(dir)).toEqual([]);
    } finally {
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
    }
  }, 300000);

  it.each([
    ['EMBEDDED_PG_PORT taken', async (dir: string, port: number) => ({ blocker: await listeningOn(port), env: { EMBEDDED_PG_PORT: String(port) } }), /port \d+ on 127\.0\.0\.1 is taken.*set EMBEDDED_PG_PORT/],
    ['PORT taken', async (_dir: string, port: number) => ({ blocker: await listeningOn(port), env: { PORT: String(port), EMBEDDED_PG_PORT: String(port + 1) } }), /port \d+ on 127\.0\.0\.1 is taken.*set PORT/],
    ['the data directory’s remembered port taken', async (dir: string, port: number) => {
      fs.writeFileSync(path.join(dir, 'embedded-pg-port'), `${port}\n`);
      return { blocker: await listeningOn(port), env: {} };
    }, /port \d+ on 127\.0\.0\.1 is taken.*embedded-pg-port.*set EMBEDDED_PG_PORT/],
  ])('a start that fails names its cause: %s', async (_name, setUp, expected) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-fail-'));
    clusterDirs.push(dir);
    const { blocker, env } = await setUp(dir, pgPort + 10);
    try {
      const failed = spawnServer(dir, undefined, env);
      expect(await failed.exited).toBe(1);
      expect(failed.output()).toMatch(expected);
      expect(failed.output()).not.toMatch(/^undefined$/m);
      expect(processesOf(dir)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 300000);

  it('a new data directory whose default port is taken takes a free one, and keeps it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-port-'));
    clusterDirs.push(dir);
    const blocker = await listeningOn(54329).catch(() => undefined); // taken by us, or already by someone else
    try {
      const first = await start(dir, undefined);
      const port = Number(fs.readFileSync(path.join(dir, 'embedded-pg-port'), 'utf8'));
      expect(port).not.toBe(54329);
      expect((await fetch(`http://127.0.0.1:${first.port}/readyz`)).status).toBe(200);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const second = await start(dir, undefined);
      expect(Number(fs.readFileSync(path.join(dir, 'embedded-pg-port'), 'utf8'))).toBe(port);
      expect(fs.readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[3]).toBe(String(port));
      expect((await fetch(`http://127.0.0.1:${second.port}/readyz`)).status).toBe(200);
      second.child.kill('SIGTERM');
      const exit = await second.exited;
      expect(second.output()).toContain('"msg":"stopped"');
      expect(exit).toBe(0);
    } finally {
      blocker?.close();
    }
  }, 300000);

  it('WORKERS=2: two server processes share the port, a dead one is replaced, SIGTERM stops everything', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-cluster-'));
    clusterDirs.push(dir);
    const running = await start(dir, pgPort + 1, { WORKERS: '2' });
    try {
      await until(() => running.listening.length >= 2);
      const [a, b] = running.listening;
      expect(a.port).toBe(b.port);
      expect(a.pid).not.toBe(b.pid);
      expect((await fetch(`http://127.0.0.1:${a.port}/fhir/metadata`)).status).toBe(200);
      process.kill(a.pid, 'SIGKILL');
      await until(() => running.listening.length >= 3); // its replacement
      for (let i = 0; i < 4; i++) expect((await fetch(`http://127.0.0.1:${a.port}/readyz`)).status).toBe(200);
      const postmaster = postmasterPid(dir);
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
      expect(running.listening.every(({ pid }) => !alive(pid))).toBe(true);
      expect(postmaster && alive(postmaster)).toBe(false);
    } finally {
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
      const pid = postmasterPid(dir);
      if (pid && alive(pid)) process.kill(pid, 'SIGQUIT');
    }
  }, 300000);
});

async function until(condition: () => boolean, ms = 150000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
