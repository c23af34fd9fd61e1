/**
 * `npm run bench:after-import [-- --patients N --documents N --runs N --concurrency N]`: a
 * practitioner's searches right after a bulk import, before autovacuum has analysed anything.
 * Starts `src/main.ts` on a fresh embedded PostgreSQL (DATA_DIR, default ./data/bench-after-import;
 * or DATABASE_URL), imports N patients (default 2,000) as transaction Bundles through `POST /fhir`
 * — each the Patient and D DocumentReferences (default 10) —, then P's `authorize` of each
 * patient (attested by P, one request each), then at once measures P's `DocumentReference?patient=…` over HTTP (p50/p95 of --runs,
 * default 300), and bare Express's `GET /hello` with the same client in the same run as the
 * reference. The planner statistics of the imported tables are those the import left
 * (store/statistics.ts analyses after large transactions; without it they were an empty table's).
 * Then a full `ANALYZE` of the database and the same searches again: the figure plans with
 * fresh statistics give, the second reference of the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { startServerProcess, type ServerProcess } from './server-process';
import { option } from './options';

const PATIENTS = option('patients', 2000);
const DOCUMENTS = option('documents', 10);
const RUNS = option('runs', 300);
const CONCURRENCY = option('concurrency', 4);
const BASE_URL = 'http://bench.carnet.test';
const PRACTITIONER = 'bench-prac';
const LOINC = 'http://loinc.org';
const TREG15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-after-import');

type Json = Record<string, unknown>;

function patientBundle(n: number): Json {
  const patient = `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const entry = (resource: Json, fullUrl?: string) => ({ ...(fullUrl ? { fullUrl } : {}), resource, request: { method: 'POST', url: resource.resourceType } });
  const document = (d: number) => ({
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: LOINC, code: ['11488-4', '34133-9', '18842-5'][d % 3] }] },
    subject: { reference: patient },
    date: `2025-${String((d % 12) + 1).padStart(2, '0')}-01T10:00:00Z`,
    content: [{ attachment: { contentType: 'application/pdf' } }],
  });
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [entry({ resourceType: 'Patient', name: [{ family: `Import${n}` }] }, patient), ...Array.from({ length: DOCUMENTS }, (_, d) => entry(document(d)))],
  };
}

/** P's `authorize` of patient X, attested by P (§4.2): system clients make no choices. */
function authorizeOf(patientId: string): Json {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LOINC, code: '59284-0' }] }, { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'authorize' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: '2026-11-26T10:00:00Z',
    performer: [{ reference: `Practitioner/${PRACTITIONER}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Practitioner/${PRACTITIONER}` } }] },
  };
}

async function send(url: string, token: string, method: string, body?: Json): Promise<Json> {
  const res = await fetch(url, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' }, body: body ? JSON.stringify(body) : undefined });
  const json = (await res.json()) as Json;
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status}: ${JSON.stringify(json).slice(0, 400)}`);
  return json;
}

/** `work(n)` for n in 0…count-1, CONCURRENCY in flight. */
async function inLanes<T>(count: number, work: (n: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const lane = async () => {
    for (let n = next++; n < count; n = next++) results[n] = await work(n);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return results;
}

/** Imports every patient's Bundle; returns the patients' ids. */
async function importPatients(base: string, token: string): Promise<string[]> {
  return inLanes(PATIENTS, async (n) => {
    const response = await send(`${base}/fhir`, token, 'POST', patientBundle(n));
    const location = ((response.entry as { response: { location: string } }[])[0]).response.location; // [base/]Patient/id/_history/1
    return /Patient\/([^/]+)/.exec(location)?.[1] as string;
  });
}

/** p50/p95 in ms of `RUNS` sequential GETs of `urls` (round-robin). */
async function latencies(urls: string[], token: string | undefined): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const res = await fetch(urls[i % urls.length], { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`GET ${urls[i % urls.length]} → ${res.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)], p95: times[Math.floor(times.length * 0.95)] };
}

/** ANALYZE of the server's database (DATABASE_URL, or the embedded one of DATA_DIR: its port file, the embedded credentials). */
async function analyseAll(): Promise<void> {
  const port = process.env.DATABASE_URL ? undefined : fs.readFileSync(path.join(dataDir, 'embedded-pg-port'), 'utf8').trim();
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL ?? `postgres://postgres:carnet-embedded@127.0.0.1:${port}/carnet` });
  await client.connect();
  try {
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  if (!process.env.DATABASE_URL) fs.rmSync(dataDir, { recursive: true, force: true });
  const keyDir = path.join(dataDir, 'keys');
  let carnet: ServerProcess | undefined;
  let hello: ServerProcess | undefined;
  try {
    carnet = await startServerProcess('src/main.ts', { BASE_URL, DATA_DIR: dataDir, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info', EMBEDDED_PG_PORT: '' }, 'Carnet listening');
    const base = `http://127.0.0.1:${carnet.port}`;
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const operator = await keys.issueToken({ sub: 'bench-importer', scope: 'system/*.*' }, { expiresIn: '2h' });
    const practitioner = await keys.issueToken({ sub: PRACTITIONER, fhirUser: `Practitioner/${PRACTITIONER}`, scope: 'user/*.*' }, { expiresIn: '2h' });
    await send(`${base}/fhir/Practitioner/${PRACTITIONER}`, operator, 'PUT', { resourceType: 'Practitioner', id: PRACTITIONER, name: [{ family: 'Bench' }] });
    await send(`${base}/fhir/PractitionerRole`, operator, 'POST', { resourceType: 'PractitionerRole', active: true, practitioner: { reference: `Practitioner/${PRACTITIONER}` }, code: [{ coding: [{ system: TREG15, code: '10' }] }] });

    const started = Date.now();
    const ids = await importPatients(base, operator);
    await inLanes(ids.length, (n) => send(`${base}/fhir/Consent`, practitioner, 'POST', authorizeOf(ids[n])));
    const seconds = (Date.now() - started) / 1000;
    const searches = ids.map((id) => `${base}/fhir/DocumentReference?patient=Patient/${id}&_count=20`);
    const search = await latencies(searches, practitioner);
    await analyseAll();
    const analysed = await latencies(searches, practitioner);

    hello = await startServerProcess('scripts/bench/hello-express.ts', {}, 'hello listening');
    const reference = await latencies([`http://127.0.0.1:${hello.port}/hello`], undefined);

    console.log(`\nCarnet after a bulk import — ${PATIENTS} Bundles of a Patient and ${DOCUMENTS} DocumentReferences, then ${PATIENTS} authorize Consents by P: ${PATIENTS * (DOCUMENTS + 2)} resources in ${seconds.toFixed(1)} s, ${CONCURRENCY} Bundles in flight; then at once ${RUNS} searches, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`);
    console.log('| request | p50 ms | p95 ms |');
    console.log('|---|---|---|');
    console.log(`| practitioner P: DocumentReference?patient=X (authorized, grid), right after the import | ${search.p50.toFixed(1)} | ${search.p95.toFixed(1)} |`);
    console.log(`| the same, after a full ANALYZE (reference: fresh statistics) | ${analysed.p50.toFixed(1)} | ${analysed.p95.toFixed(1)} |`);
    console.log(`| bare Express: GET /hello (reference) | ${reference.p50.toFixed(1)} | ${reference.p95.toFixed(1)} |`);
  } finally {
    await hello?.stop();
    await carnet?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
