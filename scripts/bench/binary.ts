/**
 * `npm run bench:binary`: raw Binary upload and ITI-68 download (CONTRACT §9) of a 40 MB
 * PDF-looking file through Carnet (`src/main.ts`, its own process, as in production:
 * token, pipeline, access rules, validation, audit, chunks into PostgreSQL), beside a bare
 * Express process (`binary-express.ts`) streaming the same file to and from disk, in the same
 * run with the same client (node:http, the file streamed from disk, the answer drained).
 *
 * Figures, each the best and the median of --runs runs (default 3), in MB/s (MB = 10^6 bytes):
 *  1. upload: `POST /fhir/Binary` (Content-Type application/pdf, X-Security-Context Patient/X)
 *     until its 201, beside the baseline's `POST /upload`;
 *  2. download: `GET /fhir/Binary/{id}` (Accept application/pdf) to the last byte, beside
 *     the baseline's `GET /download`;
 *  3. the server processes' resident memory: before the first upload (VmRSS) and its peak
 *     over the run (VmHWM, /proc/<pid>/status; Linux only) — Carnet's bytes never sit whole
 *     in memory, so its peak should stay far below the file's size over its idle RSS.
 *     The embedded PostgreSQL is a process of its own and is not counted.
 * The downloaded bytes are checked against the file (SHA-1, also stated in the
 * DocumentReference, which the server checks). Exit code 1 when seeding or a check fails.
 *
 * Uses DATABASE_URL when set, else the embedded PostgreSQL in DATA_DIR (default ./data/bench-binary).
 * Options: --mb <n> (40), --runs <n> (3).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { startServerProcess, type ServerProcess } from './server-process';
import { option } from './options';

const MB = option('mb', 40);
const RUNS = Math.max(1, option('runs', 3));
const BASE_URL = 'http://bench.carnet.local';
const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-binary');
const NIR_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';

interface Timed {
  status: number;
  seconds: number;
  body: Buffer;
  location?: string;
}

/** One request: `upload` streamed from a file, the answer collected (download: only hashed and counted). */
function timedRequest(port: number, method: string, target: string, headers: Record<string, string>, upload?: string, keep = true): Promise<Timed & { sha1: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      const pieces: Buffer[] = [];
      const hash = createHash('sha1');
      let bytes = 0;
      res.on('data', (piece: Buffer) => {
        bytes += piece.length;
        hash.update(piece);
        if (keep) pieces.push(piece);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, seconds: Number(process.hrtime.bigint() - started) / 1e9, body: Buffer.concat(pieces), sha1: hash.digest('base64'), bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (upload) fs.createReadStream(upload).pipe(req);
    else req.end();
  });
}

/** VmRSS and VmHWM of a process, in MB (undefined off Linux). */
function memoryOf(pid: number | undefined): { rss: number; peak: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** A file of `mb` MB that starts and ends like a PDF, random in between; its SHA-1 (base64). */
function makeFile(mb: number): { file: string; size: number; sha1: string } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-bench-pdf-')), 'document.pdf');
  const fd = fs.openSync(file, 'w');
  const hash = createHash('sha1');
  const write = (piece: Buffer) => {
    fs.writeSync(fd, piece);
    hash.update(piece);
  };
  write(Buffer.from('%PDF-1.7\n'));
  const total = mb * 1_000_000;
  for (let written = 9; written < total - 6; ) {
    const piece = randomBytes(Math.min(1 << 20, total - 6 - written));
    write(piece);
    written += piece.length;
  }
  write(Buffer.from('%%EOF\n'));
  fs.closeSync(fd);
  return { file, size: fs.statSync(file).size, sha1: hash.digest('base64') };
}

const rate = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const figure = (values: number[]) => `best ${Math.max(...values).toFixed(1).padStart(7)}  median ${median(values).toFixed(1).padStart(7)} MB/s`;

async function main(): Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const keyDir = path.join(dataDir, 'keys');
  const { file, size, sha1 } = makeFile(MB);
  const env = { BASE_URL, DATA_DIR: dataDir, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info', EMBEDDED_PG_PORT: '54343', WORKERS: '1', MAX_BINARY: `${MB + 10}mb` };
  const carnet = await startServerProcess('src/main.ts', env, 'Carnet listening');
  let bare: ServerProcess | undefined;
  let failed = false;
  try {
    bare = await startServerProcess('scripts/bench/binary-express.ts', {}, 'binary baseline listening');
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const lab = await keys.issueToken({ sub: 'bench-laboratory', scope: 'system/*.*' }, { expiresIn: '2h' });
    const auth = { authorization: `Bearer ${lab}` };
    const json = { ...auth, 'content-type': 'application/fhir+json' };
    const patient = { resourceType: 'Patient', identifier: [{ system: NIR_SYSTEM, value: `1${String(randomInt(1e9)).padStart(9, '0')}12345` }], name: [{ family: 'Bench' }], birthDate: '1980-01-01' };
    const created = await timedRequest(carnet.port, 'POST', '/fhir/Patient', json, writeTemp(JSON.stringify(patient)));
    if (created.status !== 201) throw new Error(`seeding: POST Patient → ${created.status} ${created.body.toString().slice(0, 300)}`);
    const patientId = JSON.parse(created.body.toString()).id as string;
    const before = { carnet: memoryOf(carnet.child.pid), bare: memoryOf(bare.child.pid) };

    const uploads = { carnet: [] as number[], bare: [] as number[] };
    const downloads = { carnet: [] as number[], bare: [] as number[] };
    let binaryId = '';
    for (let run = 0; run < RUNS; run++) {
      const up = await timedRequest(carnet.port, 'POST', '/fhir/Binary', { ...auth, 'content-type': 'application/pdf', 'content-length': String(size), 'x-security-context': `Patient/${patientId}`, prefer: 'return=minimal' }, file);
      if (up.status !== 201) throw new Error(`upload → ${up.status} ${up.body.toString().slice(0, 300)}`);
      uploads.carnet.push(rate(size, up.seconds));
      binaryId = /\/Binary\/([^/]+)\/_history/.exec(up.location ?? '')?.[1] ?? '';
      const bareUp = await timedRequest(bare.port, 'POST', '/upload', { 'content-type': 'application/pdf', 'content-length': String(size) }, file);
      if (bareUp.status !== 201) throw new Error(`baseline upload → ${bareUp.status}`);
      uploads.bare.push(rate(size, bareUp.seconds));
    }
    const document = {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
      subject: { reference: `Patient/${patientId}` },
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binaryId}`, size, hash: sha1 } }],
    };
    const linked = await timedRequest(carnet.port, 'POST', '/fhir/DocumentReference', json, writeTemp(JSON.stringify(document)));
    if (linked.status !== 201) throw new Error(`seeding: POST DocumentReference (size and hash checked) → ${linked.status} ${linked.body.toString().slice(0, 300)}`);
    for (let run = 0; run < RUNS; run++) {
      const down = await timedRequest(carnet.port, 'GET', `/fhir/Binary/${binaryId}`, { ...auth, accept: 'application/pdf' }, undefined, false);
      if (down.status !== 200 || down.sha1 !== sha1 || down.bytes !== size) throw new Error(`download → ${down.status}, ${down.bytes} bytes, sha1 ${down.sha1 === sha1 ? 'equal' : 'different'}`);
      downloads.carnet.push(rate(size, down.seconds));
      const bareDown = await timedRequest(bare.port, 'GET', '/download', {}, undefined, false);
      if (bareDown.status !== 200 || bareDown.sha1 !== sha1) throw new Error(`baseline download → ${bareDown.status}`);
      downloads.bare.push(rate(size, bareDown.seconds));
    }
    const after = { carnet: memoryOf(carnet.child.pid), bare: memoryOf(bare.child.pid) };
    const mem = (m: { rss: number; peak: number } | undefined, p: { rss: number; peak: number } | undefined) => (m && p ? `RSS before ${p.rss.toFixed(0)} MB, peak ${m.peak.toFixed(0)} MB (+${(m.peak - p.rss).toFixed(0)} MB)` : 'n/a (no /proc)');
    console.log(`\n${(size / 1e6).toFixed(1)} MB file, ${RUNS} runs each, node ${process.version}, ${os.cpus().length} CPUs`);
    console.log(`1. upload    Carnet POST /fhir/Binary  ${figure(uploads.carnet)}   | bare Express to disk    ${figure(uploads.bare)}`);
    console.log(`2. download  Carnet GET  /fhir/Binary  ${figure(downloads.carnet)}   | bare Express from disk  ${figure(downloads.bare)}`);
    console.log(`3. memory    Carnet: ${mem(after.carnet, before.carnet)}   | bare Express: ${mem(after.bare, before.bare)}`);
  } catch (error) {
    failed = true;
    console.error(error instanceof Error ? error.message : error);
  } finally {
    await bare?.stop();
    await carnet.stop();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    for (const temp of temps) fs.rmSync(temp, { force: true });
  }
  if (failed) process.exit(1);
}

const temps: string[] = [];
function writeTemp(text: string): string {
  const temp = path.join(os.tmpdir(), `carnet-bench-body-${process.pid}-${temps.length}.json`);
  fs.writeFileSync(temp, text);
  temps.push(temp);
  return temp;
}

void main();
