/**
 * `npm run bench:crud`: throughput and latency of Carnet (`src/main.ts`, run as
 * its own process, as in production) next to a bare Express hello-world
 * (`hello-express.ts`) measured in the same run, on the same machine, with the
 * same load generator (autocannon). Authentication, access rules and the audit
 * (an AuditEvent stored before each response about a patient's data, plus its
 * notification in the outbox) are on, as by default.
 *
 * Figures (each shown beside bare Express):
 *  1. bare Express `GET /hello` — the reference;
 *  2. Carnet `GET /healthz` — target ≥ 70 % of bare Express;
 *  3. read-by-id by an authorized practitioner: a médecin (active
 *     PractitionerRole, TRE_G15 code 10) whom every patient authorized with an
 *     active `authorize` Consent written by the patient, reading
 *     `DocumentReference/{id}` (type LOINC 11488-4, submitted by a laboratory
 *     client), rotating over one document of each of the seeded patients
 *     (≥ 100) — target ≥ 35 % of bare Express;
 *  4. DocumentReference creates (201, committed before the answer) by the
 *     seeded practitioners (each authorized by every patient), rotating over
 *     the practitioners and the patients — target ≥ 500/s;
 *  5. the same creates on a single patient (the patient's audit chain and
 *     rows serialise there) — target ≥ 350/s;
 *  with `--patient-writes`, also create Patient and update Patient/{id} by an
 *  operator (no target);
 *  with `--compression`, the cost of response compression (figures c1–c4, no
 *  target): the read of figure 3 with `Accept-Encoding: gzip, br`, and `GET /fhir/metadata`
 *  (the CapabilityStatement, ~400 KB) plain, gzip and br — each with the
 *  bytes of its answers as sent.
 * Each figure also gives, where /proc exists, the CPU µs per answer of the
 * server under test (bare Express's process, or Carnet's processes), of every
 * PostgreSQL process and of this process (autocannon, the load generator):
 * the three share the machine's cores, so a ratio to bare Express moves with
 * the machine while these say where a request's time went.
 * Any non-2xx answer or socket error counts as an error, is printed with a
 * sample of the answers and flags its figure; error-level lines of the
 * server's log are counted and printed. Missing a target does not change the
 * exit code; a seeding failure exits 1.
 *
 * Seeding goes through the HTTP API: an operator (`system/*.*`) PUTs the
 * practitioners (national id `urn:oid:1.2.250.1.71.4.2.1`, claiming
 * carnet-practitioner) and their roles, POSTs the patients (INS-NIR
 * `urn:oid:1.2.250.1.213.1.4.8`, unique per run) and, as a laboratory client,
 * one document per patient; each patient (`patient/*.*`) POSTs one authorize
 * Consent per practitioner. Tokens are signed with the server's development key.
 *
 * Uses DATABASE_URL when set, else the embedded PostgreSQL in DATA_DIR
 * (default ./data/bench). WORKERS is inherited from the environment.
 * Options: --duration <s> (10), --connections <n> (50), --patients <n> (200),
 * --practitioners <n> (4), --patient-writes, --compression, --only <list>
 * (the numbered figures to measure, e.g. `--only 3` or `--only 2,3`; the
 * reference, figure 1, is always measured).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import autocannon from 'autocannon';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { cpuTimes, spent } from './cpu';
import { startServerProcess, type ServerProcess } from './server-process';
import { flag, option, text } from './options';

const DURATION = option('duration', 10);
const CONNECTIONS = option('connections', 50);
const PATIENTS = Math.max(1, option('patients', 200));
const PRACTITIONERS = Math.max(1, option('practitioners', 4));
const PATIENT_WRITES = flag('patient-writes');
const COMPRESSION = flag('compression');
const ONLY = text('only')?.split(',').map(Number);
/** Whether numbered figure `n` is measured in this run. */
const wanted = (n: number) => !ONLY || ONLY.includes(n);
const SEED_CHUNK = 25;
const BASE_URL = 'http://bench.carnet.local';
const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench');

const NIR_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
const RPPS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
const G15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
const LOINC = 'http://loinc.org';
const PRACTITIONER_PROFILE = 'https://carnet.example.org/fhir/StructureDefinition/carnet-practitioner';
/** Six digits that make this run's INS-NIRs unique: the data directory keeps earlier runs' patients. */
const RUN = String(randomInt(1_000_000)).padStart(6, '0');

class SeedError extends Error {}

// ---------------------------------------------------------------- resources

const nir = (i: number) => `2${RUN}${String(i).padStart(8, '0')}`;

const patient = (i: number, id?: string, active?: boolean) => ({
  resourceType: 'Patient',
  ...(id ? { id } : {}),
  identifier: [{ system: NIR_SYSTEM, value: nir(i) }],
  name: [{ family: `Bench${i}`, given: ['Camille'] }],
  gender: 'female',
  birthDate: '1984-05-12',
  ...(active === undefined ? {} : { active }),
});

const practitionerId = (p: number) => `bench-prac-${p}`;

const practitioner = (p: number) => ({
  resourceType: 'Practitioner',
  id: practitionerId(p),
  meta: { profile: [PRACTITIONER_PROFILE] },
  identifier: [{ system: RPPS_SYSTEM, value: `81${String(p).padStart(9, '0')}` }],
  name: [{ family: `Médecin${p}`, given: ['Louis'], prefix: ['Dr'] }],
});

/** An active role of profession médecin (TRE_G15 10). */
const practitionerRole = (p: number) => ({
  resourceType: 'PractitionerRole',
  id: `${practitionerId(p)}-role`,
  active: true,
  practitioner: { reference: `Practitioner/${practitionerId(p)}` },
  code: [{ coding: [{ system: G15, code: '10' }] }],
});

/** Patient X's `authorize` choice naming Practitioner/P (CONTRACT §4.2, profile carnet-consent-authorize). */
const authorize = (patientId: string, p: number) => ({
  resourceType: 'Consent',
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: LOINC, code: '59284-0' }] }, { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'authorize' }] }],
  patient: { reference: `Patient/${patientId}` },
  dateTime: new Date().toISOString(),
  performer: [{ reference: `Patient/${patientId}` }],
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision: {
    type: 'permit',
    actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Practitioner/${practitionerId(p)}` } }],
  },
});

const NOTE = Buffer.from('Compte rendu de consultation : examen clinique sans particularité.\n').toString('base64');

/** A DocumentReference of type LOINC 11488-4 (consultation note, readable by médecins under the grid). */
const documentReference = (patientId: string) => ({
  resourceType: 'DocumentReference',
  status: 'current',
  type: { coding: [{ system: LOINC, code: '11488-4', display: 'Consult note' }] },
  subject: { reference: `Patient/${patientId}` },
  date: '2026-11-26T10:00:00Z',
  description: 'Compte rendu de consultation',
  content: [{ attachment: { contentType: 'text/plain', data: NOTE } }],
});

// ---------------------------------------------------------------- HTTP seeding

interface Api {
  url: string;
  send: (method: 'GET' | 'POST' | 'PUT', path: string, token: string, body?: unknown) => Promise<{ status: number; json: Record<string, unknown> }>;
}

function api(url: string): Api {
  return {
    url,
    send: async (method, path, token, body) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        json = { text: text.slice(0, 300) };
      }
      return { status: res.status, json };
    },
  };
}

async function expectStatus(what: string, answer: Promise<{ status: number; json: Record<string, unknown> }>, ok: number[]): Promise<Record<string, unknown>> {
  const { status, json } = await answer;
  if (!ok.includes(status)) throw new SeedError(`seeding failed: ${what} → ${status} ${JSON.stringify(json).slice(0, 600)}`);
  return json;
}

/** Runs fn over items, `size` at a time. */
async function inChunks<T, R>(items: T[], size: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map((item, k) => fn(item, start + k)))));
  }
  return results;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------- measuring

interface Figure {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  statuses: string;
  samples: string[];
  /** Mean bytes of an answer as sent (headers included; compressed when encoded). */
  bytes: number;
  /** CPU µs per answer: the server under test, every PostgreSQL process, this process (the load generator); undefined without /proc. */
  cpu?: { server: number; postgres: number; generator: number };
}

/** autocannon with the run's defaults; counts non-2xx answers and socket errors, keeps a few non-2xx samples. */
async function measure(server: ServerProcess, name: string, options: autocannon.Options, setup?: (req: autocannon.Request) => autocannon.Request): Promise<Figure> {
  const samples: string[] = [];
  const onResponse = (status: number, body: string) => {
    if ((status < 200 || status >= 300) && samples.length < 3) samples.push(`${status} ${body.slice(0, 300)}`);
  };
  const before = cpuTimes(server.child.pid);
  const generatorBefore = process.cpuUsage();
  const result = await autocannon({
    connections: CONNECTIONS,
    duration: DURATION,
    ...options,
    requests: [{ ...(setup ? { setupRequest: setup } : {}), onResponse }],
  });
  const statuses = Object.entries(result.statusCodeStats ?? {})
    .map(([code, stat]) => `${code}×${stat.count ?? 0}`)
    .join(' ');
  const generator = process.cpuUsage(generatorBefore);
  const after = cpuTimes(server.child.pid);
  const answers = Math.max(1, result.requests.total);
  const cpu = before && after
    ? { server: (spent(before.server, after.server) * 1000) / answers, postgres: (spent(before.postgres, after.postgres) * 1000) / answers, generator: (generator.user + generator.system) / answers }
    : undefined;
  const bytes = result.requests.average > 0 ? result.throughput.average / result.requests.average : 0;
  process.stdout.write(`  ${name}: ${result.requests.average.toFixed(0)} req/s, ${(bytes / 1024).toFixed(1)} KB/answer (${statuses}${result.errors ? `, ${result.errors} socket errors` : ''})\n`);
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, statuses, samples, bytes, cpu };
}

/** Error-level lines (pino level ≥ 50) of the server's standard output, counted, the first few kept. */
function watchServerErrors(server: ServerProcess): { count: number; lines: string[] } {
  const seen = { count: 0, lines: [] as string[] };
  let rest = '';
  server.child.stdout?.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const cut = text.lastIndexOf('\n');
    rest = cut >= 0 ? text.slice(cut + 1) : text;
    if (rest.length > 1_000_000) rest = '';
    if (cut < 0 || (!text.includes('"level":5') && !text.includes('"level":6'))) return;
    for (const line of text.slice(0, cut).split('\n')) {
      if (!/"level":[56]\d/.test(line)) continue;
      seen.count++;
      if (seen.lines.length < 10) seen.lines.push(line.slice(0, 800));
    }
  });
  return seen;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const keyDir = path.join(dataDir, 'keys');
  const env = { BASE_URL, DATA_DIR: dataDir, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info', EMBEDDED_PG_PORT: '54341' };
  const carnet = await startServerProcess('src/main.ts', env, 'Carnet listening');
  const serverErrors = watchServerErrors(carnet);
  let bare: ServerProcess | undefined;
  try {
    bare = await startServerProcess('scripts/bench/hello-express.ts', {}, 'hello listening');
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const issue = (claims: { sub: string; scope: string; fhirUser?: string }) => keys.issueToken(claims, { expiresIn: '2h' });
    const operator = await issue({ sub: 'bench-operator', scope: 'system/*.*' });
    const laboratory = await issue({ sub: 'bench-laboratory', scope: 'system/*.*' });
    const practitionerTokens = await Promise.all(range(PRACTITIONERS).map((p) => issue({ sub: `prac-${practitionerId(p)}`, fhirUser: `Practitioner/${practitionerId(p)}`, scope: 'user/*.*' })));
    const url = `http://127.0.0.1:${carnet.port}`;
    const { send } = api(url);

    // Seeding.
    const seedStarted = Date.now();
    await inChunks(range(PRACTITIONERS), SEED_CHUNK, async (p) => {
      await expectStatus(`PUT Practitioner/${practitionerId(p)}`, send('PUT', `/fhir/Practitioner/${practitionerId(p)}`, operator, practitioner(p)), [200, 201]);
      await expectStatus(`PUT PractitionerRole/${practitionerId(p)}-role`, send('PUT', `/fhir/PractitionerRole/${practitionerId(p)}-role`, operator, practitionerRole(p)), [200, 201]);
    });
    const patientIds = await inChunks(range(PATIENTS), SEED_CHUNK, async (i) => {
      const created = await expectStatus(`POST Patient #${i}`, send('POST', '/fhir/Patient', operator, patient(i)), [201]);
      return created.id as string;
    });
    const documentIds = await inChunks(patientIds, SEED_CHUNK, async (id) => {
      const token = await issue({ sub: `patient-${id}`, fhirUser: `Patient/${id}`, scope: 'patient/*.*' });
      for (const p of range(PRACTITIONERS)) {
        await expectStatus(`POST Consent (authorize Practitioner/${practitionerId(p)}) by Patient/${id}`, send('POST', '/fhir/Consent', token, authorize(id, p)), [201]);
      }
      const document = await expectStatus(`POST DocumentReference for Patient/${id}`, send('POST', '/fhir/DocumentReference', laboratory, documentReference(id)), [201]);
      return document.id as string;
    });
    // Probes: every practitioner reads a document and submits one (the figures then measure answers known to succeed).
    await inChunks(range(PRACTITIONERS), SEED_CHUNK, async (p) => {
      await expectStatus(`probe: Practitioner/${practitionerId(p)} reads DocumentReference/${documentIds[p % PATIENTS]}`, send('GET', `/fhir/DocumentReference/${documentIds[p % PATIENTS]}`, practitionerTokens[p]), [200]);
      await expectStatus(`probe: Practitioner/${practitionerId(p)} creates a DocumentReference`, send('POST', '/fhir/DocumentReference', practitionerTokens[p], documentReference(patientIds[p % PATIENTS])), [201]);
    });
    const consents = PATIENTS * PRACTITIONERS;
    console.log(`seeded ${PRACTITIONERS} practitioners (+ roles), ${PATIENTS} patients, ${consents} authorize Consents, ${PATIENTS} DocumentReferences in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);

    // Figures.
    const fhirHeaders = { 'content-type': 'application/fhir+json' };
    const readerAuth = `Bearer ${practitionerTokens[0]}`;
    const practitionerAuth = practitionerTokens.map((t) => `Bearer ${t}`);
    const documentPaths = documentIds.map((id) => `/fhir/DocumentReference/${id}`);
    const createBodies = patientIds.map((id) => JSON.stringify(documentReference(id)));
    let reads = 0;
    let creates = 0;
    let singles = 0;
    const figures: Figure[] = [];
    const targets: Array<{ figure: Figure; label: string; met: (f: Figure, bare: number) => boolean; actual: (f: Figure, bare: number) => string }> = [];
    const ratio = (f: Figure, bareRps: number) => (f.rps / bareRps) * 100;

    figures.push(await measure(bare, '1. bare Express GET /hello (reference)', { url: `http://127.0.0.1:${bare.port}/hello` }));
    if (wanted(2)) {
      const health = await measure(carnet, '2. Carnet GET /healthz', { url: `${url}/healthz` });
      figures.push(health);
      targets.push({ figure: health, label: '/healthz ≥ 70 % of bare Express', met: (f, b) => ratio(f, b) >= 70, actual: (f, b) => `${ratio(f, b).toFixed(1)} %` });
    }
    if (wanted(3)) {
      const read = await measure(
        carnet,
        `3. practitioner read DocumentReference/{id}, ${PATIENTS} patients, audited`,
        { url: `${url}/fhir/DocumentReference`, headers: { authorization: readerAuth } },
        (req) => ({ ...req, path: documentPaths[reads++ % documentPaths.length] }),
      );
      figures.push(read);
      targets.push({ figure: read, label: 'authorized read ≥ 35 % of bare Express', met: (f, b) => ratio(f, b) >= 35, actual: (f, b) => `${ratio(f, b).toFixed(1)} %` });
    }
    if (wanted(4)) {
      const create = await measure(
        carnet,
        `4. practitioners create DocumentReference, ${PATIENTS} patients × ${PRACTITIONERS} practitioners`,
        { url: `${url}/fhir/DocumentReference`, method: 'POST', headers: fhirHeaders },
        (req) => {
          const n = creates++;
          return { ...req, headers: { ...req.headers, authorization: practitionerAuth[n % PRACTITIONERS] }, body: createBodies[Math.floor(n / PRACTITIONERS) % PATIENTS] };
        },
      );
      figures.push(create);
      targets.push({ figure: create, label: 'DocumentReference creates ≥ 500/s', met: (f) => f.rps >= 500, actual: (f) => `${f.rps.toFixed(0)}/s` });
    }
    if (wanted(5)) {
      const single = await measure(
        carnet,
        `5. practitioners create DocumentReference, 1 patient × ${PRACTITIONERS} practitioners`,
        { url: `${url}/fhir/DocumentReference`, method: 'POST', headers: fhirHeaders },
        (req) => ({ ...req, headers: { ...req.headers, authorization: practitionerAuth[singles++ % PRACTITIONERS] }, body: createBodies[0] }),
      );
      figures.push(single);
      targets.push({ figure: single, label: 'creates on one patient ≥ 350/s', met: (f) => f.rps >= 350, actual: (f) => `${f.rps.toFixed(0)}/s` });
    }

    if (COMPRESSION) {
      figures.push(
        await measure(
          carnet,
          'c1. the read of figure 3, Accept-Encoding: gzip, br',
          { url: `${url}/fhir/DocumentReference`, headers: { authorization: readerAuth, 'accept-encoding': 'gzip, br' } },
          (req) => ({ ...req, path: documentPaths[reads++ % documentPaths.length] }),
        ),
      );
      for (const [n, encoding] of ['identity', 'gzip', 'br'].entries()) {
        figures.push(await measure(carnet, `c${n + 2}. GET /fhir/metadata, Accept-Encoding: ${encoding}`, { url: `${url}/fhir/metadata`, headers: { 'accept-encoding': encoding } }));
      }
    }

    if (PATIENT_WRITES) {
      let counter = PATIENTS;
      let updated = 0;
      figures.push(
        await measure(carnet, '6. operator create Patient', { url: `${url}/fhir/Patient`, method: 'POST', headers: { ...fhirHeaders, authorization: `Bearer ${operator}` } }, (req) => ({
          ...req,
          body: JSON.stringify(patient(counter++)),
        })),
      );
      figures.push(
        await measure(carnet, '7. operator update Patient/{id}', { url: `${url}/fhir/Patient`, method: 'PUT', headers: { ...fhirHeaders, authorization: `Bearer ${operator}` } }, (req) => {
          const n = updated++;
          const i = n % PATIENTS;
          return { ...req, path: `/fhir/Patient/${patientIds[i]}`, body: JSON.stringify(patient(i, patientIds[i], Math.floor(n / PATIENTS) % 2 === 0)) };
        }),
      );
    }

    // Report.
    const bareRps = figures[0].rps;
    const where = process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL';
    console.log(
      `\nCarnet CRUD benchmark — ${CONNECTIONS} connections, ${DURATION} s per figure, auth and audit on, ${where}, WORKERS=${process.env.WORKERS ?? '(unset: 1)'}, ${os.cpus().length} cores, node ${process.version}\n`,
    );
    console.log('| figure | req/s | p50 ms | p99 ms | KB/answer | errors (non-2xx) | vs bare Express | CPU µs/answer: server | PostgreSQL | load generator |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const f of figures) {
      const errors = f.errors > 0 ? `**${f.errors}** ⚠` : '0';
      const cpu = f.cpu ? `${f.cpu.server.toFixed(0)} | ${f.cpu.postgres.toFixed(0)} | ${f.cpu.generator.toFixed(0)}` : 'n/a | n/a | n/a';
      console.log(`| ${f.name} | ${f.rps.toFixed(0)} | ${f.p50} | ${f.p99} | ${(f.bytes / 1024).toFixed(1)} | ${errors} | ${ratio(f, bareRps).toFixed(1)} % | ${cpu} |`);
    }
    console.log('\ntargets:');
    for (const t of targets) {
      // A figure with errors does not count as met: its rate includes answers that did nothing.
      const pass = t.met(t.figure, bareRps) && t.figure.errors === 0;
      const flagged = t.figure.errors > 0 ? ` ⚠ ${t.figure.errors} errors` : '';
      console.log(`- ${pass ? 'PASS' : 'FAIL'} ${t.label}: ${t.actual(t.figure, bareRps)}${flagged}`);
    }
    const withErrors = figures.filter((f) => f.errors > 0);
    if (withErrors.length > 0) {
      console.log('\nerrors:');
      for (const f of withErrors) {
        console.log(`- ${f.name}: ${f.errors} (status codes: ${f.statuses})`);
        for (const sample of f.samples) console.log(`    ${sample}`);
      }
    }
    console.log(`\nserver log: ${serverErrors.count} error-level line(s)`);
    for (const line of serverErrors.lines) console.log(`    ${line}`);
  } finally {
    await bare?.stop();
    await carnet.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof SeedError ? error.message : error);
  process.exit(1);
});
