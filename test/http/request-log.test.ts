/**
 * The request log (http/logging.ts): one info line per request, with the
 * path but no query values and the request id; the liveness and readiness
 * probes at debug only; an answer cut off before it finished is logged 499.
 */
import http from 'node:http';
import express from 'express';
import pino from 'pino';
import { requestLogger } from '../../src/http/logging';

interface Line {
  level: number;
  msg: string;
  req: { id: string; method: string; path: string };
  res: { status: number };
}

async function withServer(level: string, work: (url: string, lines: Line[]) => Promise<void>): Promise<void> {
  const lines: Line[] = [];
  const logger = pino({ level }, { write: (text: string) => lines.push(JSON.parse(text) as Line) });
  const app = express();
  app.use(requestLogger(logger));
  app.get('/slow', (_req, res) => {
    setTimeout(() => res.end('late'), 200);
  });
  app.use((_req, res) => res.json({ ok: true }));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    await work(`http://127.0.0.1:${port}`, lines);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

it.each([
  ['info', ['/fhir/Patient?family=x&given=y', '/healthz', '/readyz'], [['/fhir/Patient?family&given', 30]]],
  ['debug', ['/healthz', '/readyz'], [['/healthz', 20], ['/readyz', 20]]],
])('at %s, logs %j as %j (path, pino level)', async (level, paths, expected) => {
  await withServer(level, async (url, lines) => {
    for (const path of paths) await (await fetch(url + path, { headers: { 'x-request-id': 'req-1' } })).text();
    await settle();
    expect(lines.map((line) => [line.req.path, line.level])).toEqual(expected);
    expect(lines.every((line) => line.req.id === 'req-1' && line.res.status === 200)).toBe(true);
  });
});

it('logs an answer cut off by the client as 499', async () => {
  await withServer('info', async (url, lines) => {
    const aborted = new AbortController();
    const request = fetch(`${url}/slow`, { signal: aborted.signal }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    aborted.abort();
    await request;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lines.map((line) => [line.req.path, line.res.status])).toEqual([['/slow', 499]]);
  });
});
