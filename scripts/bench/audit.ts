/**
 * `npm run bench:audit`: reads per second of one caller with auditing off and
 * on, in the same run, against the same server process and database
 * (scripts/bench/audit-server.ts serves both), alternating rounds; then the
 * outbox drain rate — mails per second the notification worker sends to a
 * loopback SMTP sink — over the notifications the audited reads queued.
 * Reads go round many patients' data, as a practitioner's do; the worst case,
 * every read about one patient (one chain, appended in series), is printed too.
 * The caller is an authorized practitioner when the access rules let one read
 * (PractitionerRole médecin + an `authorize` Consent), else the system client
 * that created the data (said in the output). Target: on/off ≥ 0.7.
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
import { startEmbedded } from '../../src/store/embedded';
import { NotificationWorker } from '../../src/notify/worker';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const DURATION = option('duration', 10);
const ROUNDS = option('rounds', 2);
const CONNECTIONS = option('connections', 16);
const DRAIN = option('drain', 15);
const PATIENTS = option('patients', 100);
const BASE_URL = 'http://bench.carnet.local';
const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-audit');
const DB_NAME = 'carnet_bench_audit';

interface Servers {
  off: string;
  on: string;
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

function startServers(env: NodeJS.ProcessEnv): Promise<Servers> {
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
      const { port, auditedPort } = JSON.parse(line) as { port: number; auditedPort: number };
      resolve({ off: `http://127.0.0.1:${port}`, on: `http://127.0.0.1:${auditedPort}`, pid: child.pid ?? 0, stop: async () => void (child.kill('SIGTERM'), await exited) });
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

/**
 * `count` patients (with an email address), one Observation each, and the
 * caller who reads them: a practitioner each patient authorized, if the
 * access rules let that practitioner read, else the creating system client.
 */
async function seed(base: string, issue: Issue, count: number): Promise<{ paths: string[]; token: string; caller: string }> {
  const lab = await issue({ sub: 'bench-lab', scope: 'system/*.*' });
  const practitioner = await post(`${base}/fhir/Practitioner`, lab, { resourceType: 'Practitioner', name: [{ family: 'Martin' }] });
  await post(`${base}/fhir/PractitionerRole`, lab, {
    resourceType: 'PractitionerRole',
    active: true,
    practitioner: { reference: `Practitioner/${practitioner.id}` },
    code: [{ coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante', code: '10' }] }],
  });
  const paths: string[] = [];
  let consentRefused: string | undefined;
  for (let i = 0; i < count; i++) {
    const patient = await post(`${base}/fhir/Patient`, lab, { resourceType: 'Patient', name: [{ family: `Bench${i}` }], telecom: [{ system: 'email', value: `bench${i}@example.org` }] });
    const obs = await post(`${base}/fhir/Observation`, lab, { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${patient.id}` } });
    paths.push(`/fhir/Observation/${obs.id}`);
    if (consentRefused) continue;
    const own = await issue({ sub: `patient-${patient.id}`, fhirUser: `Patient/${patient.id}`, scope: 'patient/*.*' });
    await post(`${base}/fhir/Consent`, own, consent(patient.id, practitioner.id)).catch((error: Error) => (consentRefused = error.message.slice(0, 80)));
  }
  const token = await issue({ sub: `prac-${practitioner.id}`, fhirUser: `Practitioner/${practitioner.id}`, scope: 'user/*.*' });
  const probe = await fetch(`${base}${paths[0]}`, { headers: { authorization: `Bearer ${token}` } });
  if (!consentRefused && probe.status === 200) return { paths, token, caller: 'authorized practitioner (PractitionerRole médecin + an authorize Consent from each patient)' };
  const why = consentRefused ? `the authorize Consent was refused: ${consentRefused}` : `an authorized practitioner gets ${probe.status}: access rules not wired yet`;
  return { paths, token: lab, caller: `system client that created the data (${why})` };
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

async function reads(base: string, paths: string[], token: string, duration: number): Promise<Figure> {
  let next = 0;
  const postgres = postgresPids();
  const before = { server: cpuSeconds([serverPid]), postgres: cpuSeconds(postgres) };
  const result = await autocannon({
    url: `${base}${paths[0]}`,
    connections: CONNECTIONS,
    duration,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length] }) }],
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
  const servers = await startServers({ DATABASE_URL: databaseUrl, BASE_URL, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info', PORT: '0' });
  serverPid = servers.pid;
  const db = openDb(databaseUrl, 8);
  try {
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const issue = (claims: { sub: string; scope: string; fhirUser?: string }) => keys.issueToken(claims, { expiresIn: '2h' });
    const target = await seed(servers.off, issue, PATIENTS);
    await reads(servers.off, target.paths, target.token, 2); // warm-up
    await reads(servers.on, target.paths, target.token, 2);
    const lines: string[] = [];
    const compare = async (label: string, paths: string[], rounds: number) => {
      const off: number[] = [];
      const on: number[] = [];
      const cpuOff: number[] = [];
      const cpuOn: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const a = await reads(servers.off, paths, target.token, DURATION);
        const b = await reads(servers.on, paths, target.token, DURATION);
        off.push(a.rps);
        on.push(b.rps);
        cpuOff.push(a.serverCpu + a.postgresCpu);
        cpuOn.push(b.serverCpu + b.postgresCpu);
        const line = (mode: string, f: Figure) => `| ${label} | ${round + 1} | ${mode} | ${f.rps.toFixed(0)} | ${f.p50} | ${f.p99} | ${f.errors} | ${f.serverCpu.toFixed(3)} | ${f.postgresCpu.toFixed(3)} |`;
        lines.push(line('off', a), line('on', b));
      }
      const mean = (values: number[]) => values.reduce((x, y) => x + y, 0) / values.length;
      return { off: mean(off), on: mean(on), ratio: mean(on) / mean(off), cpuRatio: mean(cpuOff) / mean(cpuOn) };
    };
    const spread = await compare(`${PATIENTS} patients`, target.paths, ROUNDS);
    const hot = await compare('1 patient', target.paths.slice(0, 1), 1);
    const events = Number((await db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM audit_events')).rows[0].n);

    const sink = await startCountingSink();
    const worker = new NotificationWorker({ db, settings: { smtpUrl: sink.url, from: 'Carnet <bench@carnet.local>', digestMinutes: 0, worker: true }, logger: pino({ level: 'warn' }), batchSize: 200, concurrency: 8 });
    const started = Date.now();
    while (Date.now() - started < DRAIN * 1000 && (await worker.runOnce()) > 0);
    const elapsed = (Date.now() - started) / 1000;
    const sent = sink.count();
    await worker.stop();
    await sink.close();

    console.log(`\nCarnet audit benchmark — ${CONNECTIONS} connections, ${ROUNDS} × ${DURATION}s per mode, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`);
    console.log(`caller: ${target.caller}; GET /fhir/Observation/{id} over ${PATIENTS} patients' Observations in turn, then one patient's only`);
    console.log('| reads of | round | audit | reads/s | p50 ms | p99 ms | errors | server CPU ms/read | PostgreSQL CPU ms/read |\n|---|---|---|---|---|---|---|---|---|');
    for (const line of lines) console.log(line);
    console.log(`\n${PATIENTS} patients: reads/s auditing off ${spread.off.toFixed(0)}, on ${spread.on.toFixed(0)}: ratio ${spread.ratio.toFixed(2)} (target ≥ 0.70) ${spread.ratio >= 0.7 ? 'OK' : 'BELOW TARGET'}`);
    console.log(`1 patient (every event on one chain, appended in series): off ${hot.off.toFixed(0)}, on ${hot.on.toFixed(0)}: ratio ${hot.ratio.toFixed(2)}`);
    console.log(`server + PostgreSQL CPU per read, off/on: ${spread.cpuRatio.toFixed(2)} (${PATIENTS} patients), ${hot.cpuRatio.toFixed(2)} (1 patient) — the ratio if CPU were all that limits; the machine's load average was ${os.loadavg()[0].toFixed(1)}`);
    console.log(`AuditEvents stored: ${events}`);
    console.log(`outbox drain: ${sent} mails in ${elapsed.toFixed(1)} s = ${(sent / elapsed).toFixed(0)} mails/s (loopback SMTP sink, 8 in flight)`);
  } finally {
    await db.destroy();
    await servers.stop();
    await embedded?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
