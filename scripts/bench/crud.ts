/**
 * `npm run bench:crud`: read-by-id, create and update throughput and latency
 * of Carnet on PostgreSQL with authentication on, next to a bare Express
 * hello-world measured in the same run on the same machine.
 * Uses DATABASE_URL when set, else the embedded PostgreSQL in DATA_DIR (./data/bench).
 * Options: --duration <s> (default 10), --connections <n> (default 16).
 */
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { startServerProcess } from './server-process';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const DURATION = option('duration', 10);
const CONNECTIONS = option('connections', 16);
const BASE_URL = 'http://bench.carnet.local';
const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench');

interface Figure {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function measure(name: string, options: autocannon.Options): Promise<Figure> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  const errors = result.errors + result.non2xx;
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors };
}

const patient = (i: number) =>
  JSON.stringify({
    resourceType: 'Patient',
    identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: `1${String(i).padStart(14, '0')}` }],
    name: [{ family: `Bench${i}`, given: ['Camille'] }],
    gender: 'female',
    birthDate: '1984-05-12',
  });

async function main(): Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const keyDir = path.join(dataDir, 'keys');
  const env = { BASE_URL, DATA_DIR: dataDir, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info', EMBEDDED_PG_PORT: '54341' };
  const carnet = await startServerProcess('src/main.ts', env, 'Carnet listening');
  const bare = await startServerProcess('scripts/bench/hello-express.ts', {}, 'hello listening');
  try {
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const token = await keys.issueToken({ sub: 'bench-client', scope: 'system/*.*' }, { expiresIn: '2h' });
    const url = `http://127.0.0.1:${carnet.port}`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
    const seeded = await fetch(`${url}/fhir/Patient`, { method: 'POST', headers, body: patient(0) });
    if (seeded.status !== 201) throw new Error(`seeding failed: ${seeded.status} ${await seeded.text()}`);
    const readId = ((await seeded.json()) as { id: string }).id;
    const UPDATE_TARGETS = 500;
    for (let i = 0; i < UPDATE_TARGETS; i++) {
      const res = await fetch(`${url}/fhir/Patient/bench-${i}`, { method: 'PUT', headers, body: JSON.stringify({ ...JSON.parse(patient(i)), id: `bench-${i}` }) });
      if (res.status >= 300) throw new Error(`seeding update targets failed: ${res.status}`);
    }
    let counter = 1_000_000;
    let target = 0;
    const figures: Figure[] = [];
    figures.push(await measure('bare Express GET', { url: `http://127.0.0.1:${bare.port}/hello` }));
    figures.push(await measure('read Patient/{id}', { url: `${url}/fhir/Patient/${readId}`, headers: { authorization: headers.authorization } }));
    figures.push(
      await measure('create Patient', {
        url: `${url}/fhir/Patient`,
        method: 'POST',
        headers,
        requests: [{ setupRequest: (req) => ({ ...req, body: patient(counter++) }) }],
      }),
    );
    figures.push(
      await measure('update Patient/{id}', {
        url: `${url}/fhir/Patient`,
        method: 'PUT',
        headers,
        requests: [
          {
            setupRequest: (req) => {
              const i = target++ % UPDATE_TARGETS;
              return { ...req, path: `/fhir/Patient/bench-${i}`, body: JSON.stringify({ ...JSON.parse(patient(i)), id: `bench-${i}`, active: target % 2 === 0 }) };
            },
          },
        ],
      }),
    );
    const bareRps = figures[0].rps;
    console.log(`\nCarnet CRUD benchmark — ${CONNECTIONS} connections, ${DURATION}s each, auth on, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`);
    console.log('| interaction | req/s | p50 ms | p99 ms | errors | vs bare Express |');
    console.log('|---|---|---|---|---|---|');
    for (const f of figures) {
      console.log(`| ${f.name} | ${f.rps.toFixed(0)} | ${f.p50} | ${f.p99} | ${f.errors} | ${((f.rps / bareRps) * 100).toFixed(1)} % |`);
    }
    console.log(`\ntargets: read ≥ 30 % of bare Express (${((figures[1].rps / bareRps) * 100).toFixed(1)} %), create ≥ 500/s (${figures[2].rps.toFixed(0)}/s)`);
  } finally {
    await bare.stop();
    await carnet.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
