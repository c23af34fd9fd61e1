/**
 * CONTRACT §1 as a user sees it: `npm start`'s process with the embedded
 * PostgreSQL starts, answers /readyz, survives a kill -9 of a previous run
 * (stale postmaster), and exits 0 on SIGTERM, stopping the database; with
 * WORKERS=2, two server processes share the port, one that dies is replaced,
 * and SIGTERM to the primary stops them all and the database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

interface Running {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

interface Started extends Running {
  /** Every `Carnet listening` line so far (one per server process). */
  listening: Array<{ pid: number; port: number }>;
}

function start(dataDir: string, pgPort: number, extra: NodeJS.ProcessEnv = {}): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info', ...extra };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening: Started['listening'] = [];
  return new Promise((resolve, reject) => {
    let buffer = '';
    let pending = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buffer.slice(-2000)}`)), 60000);
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
        resolve({ child, port: parsed.port, exited, listening });
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}: ${buffer.slice(-2000)}`)));
  });
}

function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'pg', 'postmaster.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : undefined;
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
  }, 120000);

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
  }, 120000);
});

async function until(condition: () => boolean, ms = 60000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
