/**
 * `npm run bench:audit`: reads per second of an authorized practitioner
 * against Carnet as production composes it (scripts/bench/audit-server.ts:
 * createCarnet, every read about a patient's data audited before its
 * answer), then the outbox drain rate — mails per second the notification
 * worker sends to a loopback SMTP sink — over the notifications those reads
 * queued. Reads go round many patients' data, as a practitioner's do; the
 * worst case, every read about one patient (one chain, appended in series),
 * is printed too. The caller is a médecin (active PractitionerRole, TRE_G15
 * code 10) whom every patient authorized (an `authorize` Consent written by
 * the patient); seeding fails if he cannot read.
 *
 * The audit is a stage of the production pipeline, not an option, so there
 * is no "auditing off" server to compare with. For scale only, the same reads
 * by each patient of their own Observation are measured too: the one request
 * the contract leaves unaudited (§6) — but with the patient's access
 * predicate, not the practitioner's, so their ratio is not the cost of the
 * audit alone and no target is checked against it.
 * Uses DATABASE_URL when set, else the embedded PostgreSQL in DATA_DIR (./data/bench-audit).
 * Options: --duration <s> per round (default 10), --rounds <n> (2), --connections <n> (16), --drain <s> (15),
 * --patients <n> (100: reads go round their Observations; one patient's alone is measured too).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { createDatabase, dropDatabase, openDb, withDatabase } from '../../src/store/db';
import { PoolExecutor } from '../../src/store/executor';
import { startEmbedded } from '../../src/store/embedded';
import { NotificationWorker } from '../../src/notify/worker';
import { NotificationHolds } from '../../src/audit/hidden-events';
import { AuditAccessHistory } from '../../src/audit/access-history';
import { CarnetAccessPolicy } from '../../src/access/policy';
import { PatientCompartment } from '../../src/kernel/compartment';
import { createRegistry } from '../../src/search';
import { option } from './options';

const DURATION = option('duration', 10);
const ROUNDS = option('rounds', 2);
const CONNECTIONS = option('connections', 16);
const DRAIN = option('drain', 15);
const PATIENTS = option('patients', 100);
const BASE_URL = 'http://bench.carnet.local';
const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-audit');
const DB_NAME = 'carnet_bench_audit';

interface AuditServer {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/** CPU seconds (user + system) used so far by these processes, from /proc (Linux; 0 elsewhere). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // process gone or no /proc
    }
  }
  return ticks / 100;
}

/** The embedded cluster's processes: the postmaster and its children (backends, WAL writer…). */
function postgresPids(): number[] {
  try {
    const postmaster = Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = fs.readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [postmaster, ...children];
  } catch {
    return [];
  }
}

function startServer(env: NodeJS.ProcessEnv): Promise<AuditServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/audit-server.ts'], { cwd: path.resolve(__dirname, '../..'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.includes('bench audit ready'));
      if (!line) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      const { port } = JSON.parse(line) as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, pid: child.pid ?? 0, stop: async () => void (child.kill('SIGTERM'), await exited) });
    };
    child.stdout?.on('data', onData);
    void exited.then(() => reject(new Error('audit-server exited before listening')));
  });
}

async function post(url: string, token: string, resource: object): Promise<{ id: string }> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  if (res.status !== 201) throw new Error(`seeding ${url} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

const consent = (patientId: string, practitionerId: string) => ({
  resourceType: 'Consent',
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }, { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'authorize' }] }],
  patient: { reference: `Patient/${patientId}` },
  dateTime: new Date().toISOString(),
  performer: [{ reference: `Patient/${patientId}` }],
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Practitioner/${practitionerId}` } }] },
});

type Issue = (claims: { sub: string; scope: string; fhirUser?: string }) => Promise<string>;

/** One read: its path and the token it is sent with. */
interface Read {
  path: string;
  token: string;
}

/**
 * `count` patients (with an email address), one Observation each (created by
 * a laboratory client), and an `authorize` Consent of each patient for one
 * médecin: his reads (audited) and each patient's read of their own
 * Observation (not audited).
 */
async function seed(base: string, issue: Issue, count: number): Promise<{ practitioner: Read[]; own: Read[] }> {
  const lab = await issue({ sub: 'bench-lab', scope: 'system/*.*' });
  const practitioner = await post(`${base}/fhir/Practitioner`, lab, { resourceType: 'Practitioner', name: [{ family: 'Martin' }] });
  await post(`${base}/fhir/PractitionerRole`, lab, {
    resourceType: 'PractitionerRole',
    active: true,
    practitioner: { reference: `Practitioner/${practitioner.id}` },
    code: [{ coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante', code: '10' }] }],
  });
  const token = await issue({ sub: `prac-${practitioner.id}`, fhirUser: `Practitioner/${practitioner.id}`, scope: 'user/*.*' });
  const reads: { practitioner: Read[]; own: Read[] } = { practitioner: [], own: [] };
  for (let i = 0; i < count; i++) {
    const patient = await post(`${base}/fhir/Patient`, lab, { resourceType: 'Patient', name: [{ family: `Bench${i}` }], telecom: [{ system: 'email', value: `bench${i}@example.org` }] });
    const obs = await post(`${base}/fhir/Observation`, lab, { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${patient.id}` } });
    const own = await issue({ sub: `patient-${patient.id}`, fhirUser: `Patient/${patient.id}`, scope: 'patient/*.*' });
    await post(`${base}/fhir/Consent`, own, consent(patient.id, practitioner.id));
    const path = `/fhir/Observation/${obs.id}`;
    reads.practitioner.push({ path, token });
    reads.own.push({ path, token: own });
  }
  for (const read of [reads.practitioner[0], reads.own[0]]) {
    const probe = await fetch(`${base}${read.path}`, { headers: { authorization: `Bearer ${read.token}` } });
    if (probe.status !== 200) throw new Error(`seeding: a seeded read answers ${probe.status}, not 200`);
  }
  return reads;
}

interface Figure {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU milliseconds per request: the server process, and PostgreSQL when embedded. */
  serverCpu: number;
  postgresCpu: number;
}

let serverPid = 0;

async function measure(base: string, targets: Read[], duration: number): Promise<Figure> {
  let next = 0;
  const postgres = postgresPids();
  const before = { server: cpuSeconds([serverPid]), postgres: cpuSeconds(postgres) };
  const result = await autocannon({
    url: `${base}${targets[0].path}`,
    connections: CONNECTIONS,
    duration,
    requests: [
      {
        setupRequest: (request) => {
          const target = targets[next++ % targets.length];
          return { ...request, path: target.path, headers: { ...request.headers, authorization: `Bearer ${target.token}` } };
        },
      },
    ],
  });
  const perRequest = (seconds: number) => (seconds * 1000) / Math.max(1, result.requests.total);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    serverCpu: perRequest(cpuSeconds([serverPid]) - before.server),
    postgresCpu: perRequest(cpuSeconds(postgres) - before.postgres),
  };
}

function startCountingSink(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        accepted++;
        callback(null);
      });
    },
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, count: () => accepted, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

async function main(): Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const keyDir = path.join(dataDir, 'keys');
  const embedded = process.env.DATABASE_URL ? undefined : await startEmbedded(dataDir, 54342);
  const serverUrl = process.env.DATABASE_URL ?? embedded!.url('postgres');
  await dropDatabase(serverUrl, DB_NAME);
  await createDatabase(serverUrl, DB_NAME);
  const databaseUrl = withDatabase(serverUrl, DB_NAME);
  const server = await startServer({ DATABASE_URL: databaseUrl, BASE_URL, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info', PORT: '0', NOTIFY_WORKER: 'off' });
  serverPid = server.pid;
  const db = openDb(databaseUrl, 8);
  try {
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const issue = (claims: { sub: string; scope: string; fhirUser?: string }) => keys.issueToken(claims, { expiresIn: '2h' });
    const target = await seed(server.url, issue, PATIENTS);
    await measure(server.url, target.practitioner, 2); // warm-up
    await measure(server.url, target.own, 2);
    const lines: string[] = [];
    const run = async (label: string, mode: string, targets: Read[], rounds: number) => {
      const figures: Figure[] = [];
      for (let round = 0; round < rounds; round++) {
        const f = await measure(server.url, targets, DURATION);
        figures.push(f);
        lines.push(`| ${label} | ${mode} | ${round + 1} | ${f.rps.toFixed(0)} | ${f.p50} | ${f.p99} | ${f.errors} | ${f.serverCpu.toFixed(3)} | ${f.postgresCpu.toFixed(3)} |`);
      }
      const mean = (values: number[]) => values.reduce((x, y) => x + y, 0) / values.length;
      return { rps: mean(figures.map((f) => f.rps)), cpu: mean(figures.map((f) => f.serverCpu + f.postgresCpu)) };
    };
    const spread = await run(`${PATIENTS} patients`, 'practitioner (audited)', target.practitioner, ROUNDS);
    const own = await run(`${PATIENTS} patients`, 'each patient, own data (not audited)', target.own, ROUNDS);
    const hot = await run('1 patient', 'practitioner (audited)', target.practitioner.slice(0, 1), 1);
    const events = Number((await db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM audit_events')).rows[0].n);

    const sink = await startCountingSink();
    // the worker as `npm run worker` composes it: its mails held by the access policy's predicates
    const policy = new CarnetAccessPolicy({ compartment: new PatientCompartment(createRegistry(path.resolve(__dirname, '../../profiles'))), accessHistory: (on) => new AuditAccessHistory(on) });
    const executor = new PoolExecutor(db);
    const holds = new NotificationHolds(executor, (caller, type) => policy.readable(caller, type));
    const worker = new NotificationWorker({ db: executor, holds, settings: { smtpUrl: sink.url, from: 'Carnet <bench@carnet.local>', digestMinutes: 0, worker: true }, logger: pino({ level: 'warn' }), batchSize: 200, concurrency: 8 });
    const started = Date.now();
    while (Date.now() - started < DRAIN * 1000 && (await worker.runOnce()) > 0);
    const elapsed = (Date.now() - started) / 1000;
    const sent = sink.count();
    await worker.stop();
    await sink.close();

    console.log(`\nCarnet audit benchmark — production composition (createCarnet), ${CONNECTIONS} connections, ${ROUNDS} × ${DURATION}s, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`);
    console.log(`GET /fhir/Observation/{id} over ${PATIENTS} patients' Observations in turn, then one patient's only; caller: a médecin every patient authorized`);
    console.log('| reads of | caller | round | reads/s | p50 ms | p99 ms | errors | server CPU ms/read | PostgreSQL CPU ms/read |\n|---|---|---|---|---|---|---|---|---|');
    for (const line of lines) console.log(line);
    console.log(`\n${PATIENTS} patients, practitioner (each read audited): ${spread.rps.toFixed(0)} reads/s, ${spread.cpu.toFixed(3)} CPU ms/read (server + PostgreSQL)`);
    console.log(`1 patient (every event on one chain, appended in series): ${hot.rps.toFixed(0)} reads/s`);
    console.log(
      `for scale, patients reading their own data (not audited, another access predicate — not "auditing off"): ${own.rps.toFixed(0)} reads/s, ${own.cpu.toFixed(3)} CPU ms/read; the machine's load average was ${os.loadavg()[0].toFixed(1)}`,
    );
    console.log(`AuditEvents stored: ${events}`);
    console.log(`outbox drain: ${sent} mails in ${elapsed.toFixed(1)} s = ${(sent / elapsed).toFixed(0)} mails/s (loopback SMTP sink, 8 in flight)`);
  } finally {
    await db.destroy();
    await server.stop();
    await embedded?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
