/**
 * CONTRACT §1 as a user sees it: `npm start`'s process with the embedded
 * PostgreSQL starts, answers /readyz, survives a kill -9 of a previous run
 * (stale postmaster), and exits 0 on SIGTERM, stopping the database.
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

function start(dataDir: string, pgPort: number): Promise<Running> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buffer.slice(-2000)}`)), 60000);
    child.stderr?.on('data', (chunk) => (buffer += chunk.toString()));
    child.stdout?.on('data', (chunk) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.includes('Carnet listening'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, port: JSON.parse(line).port, exited });
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
  afterAll(() => {
    const pid = postmasterPid(dataDir);
    if (pid && alive(pid)) process.kill(pid, 'SIGQUIT');
  });

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
});
