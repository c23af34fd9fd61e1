/**
 * `/app/` (src/http/app-static.ts): the built files as they are, index.html for the
 * application's own paths, a 404 OperationOutcome for a missing asset, the pages' own CSP,
 * and a log line (no crash) when the folder was never built.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import supertest from 'supertest';
import { APP_CSP, appStaticRoutes } from '../../src/http/app-static';
import { loadConfig } from '../../src/config';

const INDEX = '<!doctype html><html lang="fr"><head><script type="module" src="/app/assets/index-abc.js"></script></head><body><div id="root"></div></body></html>';
let dir: string;

function appWith(folder: string, lines: string[] = []) {
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
  const app = express();
  appStaticRoutes({ dir: folder, logger })(app);
  app.use((_req, res) => void res.status(418).end()); // what the server would answer next
  return supertest(app);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-app-static-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), INDEX);
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc.js'), 'console.log("app")');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the built app', () => {
  it.each([
    ['/app/', 200, 'text/html', INDEX],
    ['/app/documents', 200, 'text/html', INDEX],
    ['/app/history/deeper/path', 200, 'text/html', INDEX],
    ['/app/index.html', 200, 'text/html', INDEX],
    ['/app/assets/index-abc.js', 200, 'javascript', 'console.log("app")'],
  ])('GET %s → %i %s', async (url, status, type, body) => {
    const response = await appWith(dir).get(url);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toContain(type);
    expect(response.text).toBe(body);
    expect(response.headers['content-security-policy']).toBe(APP_CSP);
  });

  it.each([['/app/assets/missing.js'], ['/app/assets/../../etc/passwd']])('GET %s → 404 OperationOutcome, never index.html', async (url) => {
    const response = await appWith(dir).get(url);
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text).resourceType).toBe('OperationOutcome');
  });

  it('redirects /app to /app/', async () => {
    const response = await appWith(dir).get('/app');
    expect(response.status).toBe(301);
    expect(response.headers.location).toBe('/app/');
  });

  it('leaves other paths and other methods to the rest of the server', async () => {
    expect((await appWith(dir).get('/fhir/metadata')).status).toBe(418);
    expect((await appWith(dir).post('/app/documents')).status).toBe(418);
  });

  it('allows no inline script and no other origin', () => {
    expect(APP_CSP).toContain("script-src 'self'");
    expect(APP_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  });
});

describe('an app that was never built', () => {
  it('logs one line at start and answers 404 OperationOutcome at /app/', async () => {
    const lines: string[] = [];
    const request = appWith(path.join(dir, 'nowhere'), lines);
    expect(lines.filter((line) => line.includes('npm run build'))).toHaveLength(1);
    const response = await request.get('/app/');
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text).issue[0].diagnostics).toContain('npm run build');
  });
});

describe('APP_DIR', () => {
  it.each([
    [{}, path.resolve(__dirname, '..', '..', 'dist', 'app')],
    [{ APP_DIR: '/srv/carnet-app' }, '/srv/carnet-app'],
  ])('%j → %s', (env, expected) => {
    expect(loadConfig(env).appDir).toBe(expected);
  });
});
