/**
 * `npm run bench:import`: bulk import throughput of Carnet through HTTP, with
 * the Synthea bundles of test/fixtures/synthea. The hiv-2021 batch
 * bundles of practitioners and organizations are loaded once first (their
 * conditional creates make later rounds find them); then every transaction
 * bundle of hiv-2021 and smart-2019 is posted `--rounds` times, each round
 * with fresh urn:uuid fullUrls (references rewritten to match; ifNoneExist
 * criteria and conditional references unchanged; smart-2019's Organization
 * identifier system renamed, see below), `--concurrency` bundles in flight.
 * Prints resources/s per round; "sustained" is over the rounds after the
 * first `--warmup` ones (each server process's JIT and caches warm up on its
 * first Synthea data: that round costs about 0.4 ms more server CPU per
 * resource), and the figure over every round is printed too.
 * Uses DATABASE_URL when set, else the embedded PostgreSQL in DATA_DIR
 * (default ./data/bench-import, emptied first so every run starts alike).
 * Options: --rounds <n> (default 4), --warmup <n> (default 1), --concurrency <n> (default 6).
 * Where /proc exists (Linux), each row also gives the CPU time the server
 * processes (the primary and its workers) and every PostgreSQL process of the
 * machine spent per resource: where a round's time went (a process that ended
 * during the round, an autovacuum worker say, is left out).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { cpuTimes, spent, type CpuTimes } from './cpu';
import { startServerProcess } from './server-process';
import { option } from './options';

const ROUNDS = option('rounds', 4);
const WARMUP = Math.min(option('warmup', 1), ROUNDS - 1);
const CONCURRENCY = option('concurrency', 6);
const BASE_URL = 'http://bench.carnet.local';
const FIXTURES = path.resolve(process.env.CARNET_FIXTURES ?? path.join(__dirname, '..', '..', 'test', 'fixtures'), 'synthea');
const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-import');

interface BundleFile {
  name: string;
  text: string; // the Bundle as JSON
  entries: number;
}

/**
 * smart-2019 POSTs, without ifNoneExist, Organizations whose Synthea
 * identifiers hiv-2021 references conditionally: from the second round on
 * those references would match several. Its identifier system is renamed.
 */
const SMART_ORGANIZATIONS = /("system"\s*:\s*"https:\/\/github\.com\/synthetichealth\/synthea)"/g;

function readBundle(file: string): BundleFile {
  const raw = fs.readFileSync(file);
  let text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  if (file.includes('smart-2019')) text = text.replace(SMART_ORGANIZATIONS, '$1/smart-2019"');
  const entries = (JSON.parse(text) as { entry?: unknown[] }).entry?.length ?? 0;
  return { name: path.basename(file), text, entries };
}

function bundlesIn(dir: string): BundleFile[] {
  return fs
    .readdirSync(dir)
    .filter((name) => /\.json(\.gz)?$/.test(name))
    .sort()
    .map((name) => readBundle(path.join(dir, name)));
}

/** The same Bundle with every urn:uuid replaced by a fresh one, consistently within the Bundle. */
function withFreshUuids(text: string): string {
  const fresh = new Map<string, string>();
  return text.replace(/urn:uuid:([0-9a-fA-F-]{36})/g, (_match, uuid: string) => {
    let next = fresh.get(uuid);
    if (!next) {
      next = randomUUID();
      fresh.set(uuid, next);
    }
    return `urn:uuid:${next}`;
  });
}

async function post(url: string, token: string, bundle: BundleFile, body: string): Promise<void> {
  const res = await fetch(`${url}/fhir`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
    body,
  });
  const answer = (await res.json()) as { entry?: { response?: { status?: string; outcome?: unknown } }[]; issue?: unknown };
  if (res.status !== 200) throw new Error(`${bundle.name}: HTTP ${res.status} ${JSON.stringify(answer.issue ?? answer).slice(0, 400)}`);
  const failed = (answer.entry ?? []).find((entry) => !/^20[01]/.test(entry.response?.status ?? ''));
  if (failed) throw new Error(`${bundle.name}: an entry failed: ${JSON.stringify(failed.response).slice(0, 400)}`);
}

/** Posts every bundle, `CONCURRENCY` at a time; returns seconds elapsed. */
async function load(url: string, token: string, bundles: BundleFile[], fresh: boolean): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bundles.length) {
      const bundle = bundles[next++];
      await post(url, token, bundle, fresh ? withFreshUuids(bundle.text) : bundle.text);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (performance.now() - started) / 1000;
}

const sum = (bundles: BundleFile[]) => bundles.reduce((total, bundle) => total + bundle.entries, 0);

async function main(): Promise<void> {
  if (!process.env.DATABASE_URL) fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  const keyDir = path.join(dataDir, 'keys');
  // one server process per core unless WORKERS says otherwise, as a deployment on this machine would run
  const workers = process.env.WORKERS ?? 'auto';
  const env = { BASE_URL, DATA_DIR: dataDir, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info', EMBEDDED_PG_PORT: '54342', WORKERS: workers };
  const hiv = bundlesIn(path.join(FIXTURES, 'hiv-2021'));
  const batches = hiv.filter((bundle) => /^(hospital|practitioner)Information/.test(bundle.name));
  const transactions = [...hiv.filter((bundle) => !batches.includes(bundle)), ...bundlesIn(path.join(FIXTURES, 'smart-2019'))];
  const carnet = await startServerProcess('src/main.ts', env, 'Carnet listening');
  try {
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const token = await keys.issueToken({ sub: 'bench-importer', scope: 'system/*.*' }, { expiresIn: '2h' });
    const url = `http://127.0.0.1:${carnet.port}`;
    console.log(`\nCarnet import benchmark — ${transactions.length} Synthea transaction bundles (${sum(transactions)} resources) × ${ROUNDS} rounds, ${CONCURRENCY} in flight, WORKERS=${workers}, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`);
    console.log('| step | bundles | resources | seconds | resources/s | server CPU ms/resource | PostgreSQL CPU ms/resource |');
    console.log('|---|---|---|---|---|---|---|');
    const measured = async (step: string, bundles: BundleFile[], fresh: boolean) => {
      const before = cpuTimes(carnet.child.pid);
      const seconds = await load(url, token, bundles, fresh);
      const after = cpuTimes(carnet.child.pid);
      const perResource = (key: keyof CpuTimes) => (before && after ? (spent(before[key], after[key]) / sum(bundles)).toFixed(3) : 'n/a');
      console.log(`| ${step} | ${bundles.length} | ${sum(bundles)} | ${seconds.toFixed(1)} | ${(sum(bundles) / seconds).toFixed(0)} | ${perResource('server')} | ${perResource('postgres')} |`);
      return seconds;
    };
    await measured('hiv-2021 batches (conditional creates)', batches, false);
    const rounds: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) rounds.push(await measured(`transactions, round ${round}${round <= WARMUP ? ' (warm-up)' : ''}`, transactions, true));
    const rate = (seconds: number[]) => (sum(transactions) * seconds.length) / seconds.reduce((a, b) => a + b, 0);
    const counted = rounds.slice(WARMUP);
    console.log(`\nsustained: ${rate(counted).toFixed(0)} resources/s over rounds ${WARMUP + 1}–${ROUNDS} (target ≥ 1,500 resources/s on 2 cores); ${rate(rounds).toFixed(0)} over all ${ROUNDS} rounds, warm-up included`);
  } finally {
    await carnet.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
