/**
 * `npx tsx scripts/bench/search.ts [--small] [--patients N] [--keep] [--runs N]`:
 * generates 10,000 patients (1,000 with --small), each with 50 DocumentReferences,
 * 25 Immunizations and 25 Appointments (≈1,010,000 resources), loads them in
 * batches with the same index rows SearchIndexer writes (SearchIndexer.rowsOf +
 * writeIndexRows, the search components built as src/server.ts builds them),
 * then measures p50/p95 of typical searches through Carnet as src/server.ts
 * composes it (createCarnet): each search in a session of its own, as a
 * request gets, through the session's SearchEngine (not HTTP), and prints a
 * table. DATABASE_URL, or the embedded
 * PostgreSQL in DATA_DIR (default ./data/bench-search, port SEARCH_BENCH_PG_PORT or 54352). --keep reuses a database
 * already loaded with the same size.
 */
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import type { Db } from '../../src/store/db';
import { startEmbedded, type EmbeddedDatabase } from '../../src/store/embedded';
import { allowAll } from '../../src/kernel/predicate';
import type { QueryParams } from '../../src/kernel/request';
import type { Caller } from '../../src/kernel/caller';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/http/logging';
import { createCarnet, type Carnet } from '../../src/server';
import { createSearchEngine } from '../../src/search';
import type { SearchIndexer } from '../../src/search/indexer';
import { parseScopes } from '../../src/identity/scopes';
import { insertBatch, BENCH_SUBMITTER, type BulkItem } from './bulk-insert';
import { flag, option } from './options';

const PATIENTS = option('patients', flag('small') ? 1000 : 10000);
const RUNS = option('runs', 200);
const DOCS = 50;
const IMMUNIZATIONS = 25;
const APPOINTMENTS = 25;
const PRACTITIONERS = 200;
const BATCH = 1000;
const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const LOINC = 'http://loinc.org';
const DOC_TYPES = ['11488-4', '34133-9', '18842-5', '11506-3', '57133-1', '60591-5', '34117-2', '11502-2', '18748-4', '28570-0'];
const CVX = ['207', '208', '141', '140', '115', '133', '33', '83', '20', '10'];
const FAMILY_A = ['Dur', 'Mar', 'Ber', 'Lef', 'Mor', 'Pet', 'Rob', 'Ric', 'Fau', 'Gar', 'Mic', 'Ler', 'Rou', 'Bon', 'Dup', 'Lam', 'Fon', 'Mer', 'Bla', 'Gir'];
const FAMILY_B = ['and', 'tin', 'nard', 'èvre', 'eau', 'it', 'ert', 'hard', 'vre', 'cia', 'el', 'oy', 'ssel', 'net', 'ont', 'bert', 'taine', 'cier', 'nc', 'ard'];
const GIVEN = ['Élodie', 'Marie', 'Jean', 'Pierre', 'Camille', 'Lucas', 'Léa', 'Hugo', 'Chloé', 'Louis', 'Emma', 'Jules', 'Inès', 'Arthur', 'Zoé', 'Noël'];

/** mulberry32: the same data set on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(42);
const BASE_URL = 'http://bench.carnet.local';
const ROOT = path.resolve(__dirname, '..', '..');
/** The search components as src/server.ts builds them (base R4 + profiles/, the server's base): the loader's indexer. */
const components = createSearchEngine({ profilesDir: path.join(ROOT, 'profiles'), baseUrl: `${BASE_URL}/fhir` });
/** The client the loader records as the submitter of every row (an operator): it reads all of them. */
const LOADER: Caller = { kind: 'system', sub: 'bench', clientId: BENCH_SUBMITTER.slice('client:'.length), scopes: parseScopes('system/*.*'), operator: true };
const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)];
const nir = (i: number) => `1${String(i).padStart(12, '0')}`;
const family = (i: number) => `${FAMILY_A[i % 20]}${FAMILY_B[Math.floor(i / 20) % 20]}`;
const day = (from: number, span: number) => new Date(Date.UTC(from, 0, 1) + Math.floor(rand() * span * 365) * 86400000).toISOString().slice(0, 10);
const instant = (from: number, span: number) => new Date(Date.UTC(from, 0, 1) + Math.floor(rand() * span * 365 * 86400) * 1000).toISOString();

type Generated = BulkItem;

function* generate(): Generator<Generated> {
  for (let o = 0; o < 20; o++) yield { resource: { resourceType: 'Organization', id: `org-${o}`, name: `Centre hospitalier ${o}` } as Resource, patientId: null };
  for (let p = 0; p < PRACTITIONERS; p++) {
    yield {
      resource: { resourceType: 'Practitioner', id: `prac-${p}`, name: [{ family: family(p * 7), given: [pick(GIVEN)] }], identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: `8100${p}` }] } as Resource,
      patientId: null,
    };
  }
  for (let i = 0; i < PATIENTS; i++) {
    const id = `pat-${i}`;
    const subject = { reference: `Patient/${id}` };
    yield {
      resource: {
        resourceType: 'Patient', id, identifier: [{ system: NIR, value: nir(i) }], name: [{ family: family(i), given: [pick(GIVEN), pick(GIVEN)] }],
        gender: rand() < 0.5 ? 'female' : 'male', birthDate: day(1930, 90), address: [{ city: `Ville ${i % 300}`, postalCode: String(10000 + (i % 900) * 100) }],
        managingOrganization: { reference: `Organization/org-${i % 20}` },
      } as Resource,
      patientId: id,
    };
    for (let d = 0; d < DOCS; d++) {
      yield {
        resource: {
          resourceType: 'DocumentReference', id: `doc-${i}-${d}`, status: 'current', masterIdentifier: { system: 'urn:ietf:rfc:3986', value: `urn:oid:1.2.250.1.999.${i}.${d}` },
          type: { coding: [{ system: LOINC, code: pick(DOC_TYPES) }] }, category: [{ coding: [{ system: 'http://loinc.org', code: '11369-6' }] }],
          subject, date: instant(2014, 10), author: [{ reference: `Practitioner/prac-${Math.floor(rand() * PRACTITIONERS)}` }],
          custodian: { reference: `Organization/org-${i % 20}` },
          content: [{ attachment: { contentType: 'application/pdf', url: `Binary/bin-${i}-${d}`, title: 'Compte rendu' }, format: { system: 'urn:oid:1.3.6.1.4.1.19376.1.2.3', code: 'urn:ihe:iti:xds:2017:mimeTypeSufficient' } }],
          context: { period: { start: day(2014, 10) } },
        } as Resource,
        patientId: id,
      };
    }
    for (let m = 0; m < IMMUNIZATIONS; m++) {
      yield {
        resource: {
          resourceType: 'Immunization', id: `imm-${i}-${m}`, status: 'completed', vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: pick(CVX) }] },
          patient: subject, occurrenceDateTime: day(1990, 34), lotNumber: `LOT${Math.floor(rand() * 10000)}`,
          performer: [{ actor: { reference: `Practitioner/prac-${Math.floor(rand() * PRACTITIONERS)}` } }],
        } as Resource,
        patientId: id,
      };
    }
    for (let a = 0; a < APPOINTMENTS; a++) {
      const start = instant(2020, 6);
      yield {
        resource: {
          resourceType: 'Appointment', id: `apt-${i}-${a}`, status: rand() < 0.8 ? 'booked' : 'fulfilled', start, end: new Date(new Date(start).getTime() + 1800000).toISOString(),
          participant: [{ actor: subject, status: 'accepted' }, { actor: { reference: `Practitioner/prac-${Math.floor(rand() * PRACTITIONERS)}` }, status: 'accepted' }],
        } as Resource,
        patientId: id,
      };
    }
  }
}

async function load(db: Db, indexer: SearchIndexer): Promise<void> {
  const total = 20 + PRACTITIONERS + PATIENTS * (1 + DOCS + IMMUNIZATIONS + APPOINTMENTS);
  const started = Date.now();
  const now = new Date().toISOString();
  let batch: Generated[] = [];
  let done = 0;
  const inFlight = new Set<Promise<void>>();
  let extractMs = 0;
  for (const item of generate()) {
    batch.push(item);
    if (batch.length < BATCH) continue;
    const current = batch;
    batch = [];
    const t0 = performance.now();
    const work = insertBatch(db, indexer, current, now).then(() => {
      done += current.length;
      if (done % 50000 < BATCH) process.stdout.write(`\r  loaded ${done}/${total} (${Math.round(done / ((Date.now() - started) / 1000))} resources/s)   `);
    });
    extractMs += performance.now() - t0;
    inFlight.add(work);
    work.finally(() => inFlight.delete(work));
    if (inFlight.size >= 3) await Promise.race(inFlight);
  }
  if (batch.length > 0) await insertBatch(db, indexer, batch, now);
  await Promise.all(inFlight);
  const seconds = (Date.now() - started) / 1000;
  console.log(`\n  loaded ${total} resources in ${seconds.toFixed(0)} s (${Math.round(total / seconds)} resources/s; batch preparation ${(extractMs / total).toFixed(3)} ms/resource)`);
  await db.raw('VACUUM ANALYZE');
}

/** Per-resource cost of the indexer alone (extract rows), for the import budget. */
function measureExtraction(indexer: SearchIndexer): void {
  const sample = [...generateSample()];
  const t0 = performance.now();
  for (let round = 0; round < 10; round++) for (const g of sample) indexer.rowsOf({ rid: 1, resourceType: g.resource.resourceType, id: g.resource.id as string, versionId: 1, lastUpdated: new Date(), deleted: false, patientId: g.patientId, createdBy: 'x', content: g.resource });
  console.log(`  index row extraction: ${((performance.now() - t0) / (sample.length * 10)).toFixed(3)} ms/resource (FHIRPath over every parameter of the type)`);
}

function* generateSample(): Generator<Generated> {
  let n = 0;
  for (const item of generate()) {
    if (n++ > 2000) return;
    yield item;
  }
}

interface Query {
  name: string;
  scope: 'patient' | 'other';
  build: () => { type: string; query: string };
  target: number;
}

const somePatient = () => Math.floor(rand() * PATIENTS);
const QUERIES: Query[] = [
  { name: 'DocumentReference?patient=…&type=…', scope: 'patient', target: 20, build: () => ({ type: 'DocumentReference', query: `patient=pat-${somePatient()}&type=${LOINC}|${pick(DOC_TYPES)}` }) },
  { name: '…&date=ge…&_sort=-date', scope: 'patient', target: 20, build: () => ({ type: 'DocumentReference', query: `patient=pat-${somePatient()}&date=ge${day(2014, 8)}&_sort=-date` }) },
  { name: 'DocumentReference?patient=…&_total=accurate', scope: 'patient', target: 100, build: () => ({ type: 'DocumentReference', query: `patient=pat-${somePatient()}&_total=accurate&_count=10` }) },
  { name: 'Immunization?patient=…&_sort=-date', scope: 'patient', target: 20, build: () => ({ type: 'Immunization', query: `patient=pat-${somePatient()}&_sort=-date` }) },
  { name: 'Appointment?patient=…&date=ge…', scope: 'patient', target: 20, build: () => ({ type: 'Appointment', query: `patient=pat-${somePatient()}&date=ge2024-01-01&status=booked` }) },
  { name: 'DocumentReference?patient=…&_include=author', scope: 'patient', target: 20, build: () => ({ type: 'DocumentReference', query: `patient=pat-${somePatient()}&_include=DocumentReference:author` }) },
  { name: 'Patient?identifier=…', scope: 'other', target: 50, build: () => ({ type: 'Patient', query: `identifier=${NIR}|${nir(somePatient())}` }) },
  { name: 'Patient?name=… (family)', scope: 'other', target: 50, build: () => ({ type: 'Patient', query: `name=${family(somePatient())}` }) },
  { name: 'Patient?name=… (3-letter prefix)', scope: 'other', target: 50, build: () => ({ type: 'Patient', query: `name=${family(somePatient()).slice(0, 3)}` }) },
  { name: 'Patient?family=…&birthdate=ge…', scope: 'other', target: 50, build: () => ({ type: 'Patient', query: `family=${family(somePatient())}&birthdate=ge1960` }) },
  { name: 'DocumentReference?patient.identifier=… (chain)', scope: 'other', target: 50, build: () => ({ type: 'DocumentReference', query: `patient.identifier=${NIR}|${nir(somePatient())}&type=${pick(DOC_TYPES)}` }) },
  { name: 'DocumentReference?subject:Patient.name=…&type=…', scope: 'other', target: 50, build: () => ({ type: 'DocumentReference', query: `subject:Patient.name=${family(somePatient())}&type=${pick(DOC_TYPES)}&_count=20` }) },
  { name: 'Patient?_has:Immunization:patient:lot-number=…', scope: 'other', target: 50, build: () => ({ type: 'Patient', query: `_has:Immunization:patient:lot-number=LOT${Math.floor(rand() * 10000)}&_count=20` }) },
  { name: 'Patient?_has:Immunization:patient:vaccine-code=… (93% match)', scope: 'other', target: 50, build: () => ({ type: 'Patient', query: `_has:Immunization:patient:vaccine-code=${pick(CVX)}&_count=20&_total=none` }) },
  { name: 'Appointment?actor=Practitioner/…&date=ge…', scope: 'other', target: 50, build: () => ({ type: 'Appointment', query: `actor=Practitioner/prac-${Math.floor(rand() * PRACTITIONERS)}&date=ge2025-06-01&_count=20` }) },
  { name: 'DocumentReference?type=…&_total=none (page 1)', scope: 'other', target: 50, build: () => ({ type: 'DocumentReference', query: `type=${pick(DOC_TYPES)}&_total=none` }) },
  { name: 'DocumentReference?type=…&_sort=-date&_total=none', scope: 'other', target: 50, build: () => ({ type: 'DocumentReference', query: `type=${pick(DOC_TYPES)}&_sort=-date&_total=none` }) },
  { name: `DocumentReference?type=…&_total=accurate (≈${(PATIENTS * DOCS) / DOC_TYPES.length})`, scope: 'other', target: 100, build: () => ({ type: 'DocumentReference', query: `type=${pick(DOC_TYPES)}&_total=accurate` }) },
  { name: `Patient?_sort=family (page 1 of ${PATIENTS})`, scope: 'other', target: 50, build: () => ({ type: 'Patient', query: '_sort=family&_total=none' }) },
];

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function measureQueries(carnet: Carnet): Promise<void> {
  const params = (query: string): QueryParams => [...new URLSearchParams(query).entries()];
  console.log(`\n| query | p50 ms | p95 ms | target p95 | matches (last) |\n|---|---:|---:|---:|---:|`);
  for (const q of QUERIES) {
    const times: number[] = [];
    let last = 0;
    for (let run = 0; run < RUNS + 20; run++) {
      const { type, query } = q.build();
      const t0 = performance.now();
      const result = await carnet.sessions.openAs(LOADER).search.search({ resourceType: type, query: params(query), access: () => allowAll });
      const elapsed = performance.now() - t0;
      if (run >= 20) times.push(elapsed); // 20 warm-up runs
      last = result.total ?? result.matches.length;
    }
    times.sort((a, b) => a - b);
    const p95 = percentile(times, 95);
    console.log(`| ${q.name} | ${percentile(times, 50).toFixed(1)} | ${p95.toFixed(1)} | ${q.target}${p95 > q.target ? ' ✗' : ''} | ${last} |`);
  }
}

async function main(): Promise<void> {
  let embedded: EmbeddedDatabase | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbedded(path.resolve(process.env.DATA_DIR ?? './data/bench-search'), Number(process.env.SEARCH_BENCH_PG_PORT ?? 54352));
    url = await embedded.ensureDatabase(`carnet_bench_search_${PATIENTS}`);
  }
  const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-search');
  const config = loadConfig({ BASE_URL, DEV_KEY_DIR: path.join(dataDir, 'keys'), LOG_LEVEL: 'silent', NOTIFY_WORKER: 'off' });
  const carnet = await createCarnet(config, url, createLogger('silent'));
  const db = carnet.db;
  try {
    const existing = Number((await db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM resources WHERE resource_type = 'Patient'`)).rows[0].n);
    measureExtraction(components.indexer);
    if (flag('keep') && existing === PATIENTS) console.log(`  reusing ${existing} patients already loaded`);
    else {
      if (existing > 0) await db.raw('TRUNCATE resources, resource_versions, search_string, search_token, search_reference, search_date, search_number, search_quantity, search_uri');
      await load(db, components.indexer);
    }
    const size = (await db.raw<{ rows: { n: string; bytes: string }[] }>(`SELECT count(*) AS n, pg_size_pretty(pg_database_size(current_database())) AS bytes FROM resources`)).rows[0];
    console.log(`  ${size.n} resources, database ${size.bytes}`);
    await measureQueries(carnet);
  } finally {
    await carnet.close();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error ?? 'embedded PostgreSQL did not start (is SEARCH_BENCH_PG_PORT in use?)');
  process.exit(1);
});
