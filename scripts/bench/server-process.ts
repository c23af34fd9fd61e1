/**
 * Benchmarks run the server as its own process (as in production), so the
 * load generator does not share its event loop. Starts `src/main.ts` (or a
 * baseline script) with the node options of `npm start` (package.json's
 * start script, e.g. its young-generation size) and resolves once it
 * listens; stop() sends SIGTERM. BENCH_SERVER_NODE_ARGS adds node options to
 * the server only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ServerProcess {
  port: number;
  child: ChildProcess;
  stop: () => Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..');

/** The words of `npm start` between `node` and `src/main.ts`: `--import tsx` and production's node options. */
function startOptions(): string[] {
  const start = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
  const script = start.indexOf('src/main.ts');
  if (start[0] !== 'node' || script < 0) throw new Error(`package.json's start script is not "node … src/main.ts": ${start.join(' ')}`);
  return start.slice(1, script);
}

export function startServerProcess(script: string, env: NodeJS.ProcessEnv, readyLine: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...startOptions(), script], { cwd: ROOT, env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.includes(readyLine));
      if (line) {
        buffer = '';
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({
          port: JSON.parse(line).port,
          child,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`${script} exited before listening`)));
  });
}
