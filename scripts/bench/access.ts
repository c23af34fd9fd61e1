/**
 * `npm run bench:access` (node --import tsx scripts/bench/access.ts [--patients N] [--docs N] [--runs N] [--keep]):
 * 1,000 patients × 100 DocumentReferences (100,000) of random grid types,
 * 5% hidden by MASQUE_PS, each patient with a few choices (authorizations of
 * random practitioners, sometimes a block, a hidden document, hide-all, an
 * emergency choice, an administrator). Loaded in bulk with the rows the
 * search indexer and the access indexer write (same extraction code), then
 * VACUUM ANALYZE. Measures, in sessions of Carnet as src/server.ts composes
 * it (createCarnet; one session per request, as the pipeline opens one),
 * through the session's SearchEngine, store and access policy (not HTTP):
 * - `DocumentReference?patient=X` by an authorized practitioner with every
 *   rule (the policy's predicate, plus checkPatientSpace alongside it as the
 *   search interaction does) against the same search with no rules (allowAll,
 *   in a session of the client that loaded the data);
 * - a single authorized read against an unrestricted one.
 * Then the same comparisons as a client sees them, through HTTP on a Carnet
 * server process over the same database (auth, caller resolution, the
 * patient-space check, audit, serialization): the practitioner's token
 * against a system client's (the one that created the data, so it reads
 * every row under its only rule). `--no-http` skips that part.
 * Prints p50/p95 and the ratios (target ≤ 1.3). DATABASE_URL, or the embedded
 * PostgreSQL in DATA_DIR (default ./data/bench-access, port ACCESS_BENCH_PG_PORT or 54353).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Consent, DocumentReference, Resource } from 'fhir/r4';
import type { Db } from '../../src/store/db';
import { startEmbedded, type EmbeddedDatabase } from '../../src/store/embedded';
import { allowAll, type RowPredicate } from '../../src/kernel/predicate';
import type { Knex } from 'knex';
import type { StoredResource } from '../../src/store/resources';
import type { SearchIndexer } from '../../src/search/indexer';
import { createSearchEngine } from '../../src/search';
import type { Session } from '../../src/kernel/ports';
import { insertBatch, BENCH_SUBMITTER, type BulkItem } from './bulk-insert';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/http/logging';
import { createCarnet, type Carnet } from '../../src/server';
import { AuthorizationGrid } from '../../src/access/grid';
import { attachmentTargets, consentRulesOf, rowFactsOf } from '../../src/access/facts';
import { foldAllPatientAccess } from '../../src/access/indexer';
import { textArray } from '../../src/access/sql';
import type { Caller, PractitionerCaller } from '../../src/kernel/caller';
import { parseScopes } from '../../src/identity/scopes';
import { loadLocalKeys } from '../../src/identity/local-keys';
import { startServerProcess } from './server-process';
import { flag, option } from './options';

const PATIENTS = option('patients', 1000);
const DOCS = option('docs', 100);
const RUNS = option('runs', 400);
const PRACTITIONERS = 200;
const BATCH = 1000;
const LOINC = 'http://loinc.org';
const A05 = 'https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire';
const A07 = 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument';
const PROFESSIONS = ['10', '10', '10', '21', '60', '70', '40', '50'];

function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(4);
const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)];
const grid = AuthorizationGrid.load();
const TYPES = grid.listedKeys();
const prac = (i: number) => `prac-${i}`;
const BASE_URL = 'http://bench.carnet.local';
const ROOT = path.resolve(__dirname, '..', '..');
/** The client the loader records as the submitter of every row (an operator): it reads all of them, under its only rule. */
const LOADER: Caller = { kind: 'system', sub: 'bench', clientId: BENCH_SUBMITTER.slice('client:'.length), scopes: parseScopes('system/*.*'), operator: true };
const professionOf = (i: number) => PROFESSIONS[i % PROFESSIONS.length];

type Item = BulkItem;

function choice(kind: string, patientId: string, id: string, provision: Consent['provision']): Consent {
  const permit = provision?.type === 'permit';
  return {
    resourceType: 'Consent', id, status: 'active', scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LOINC, code: '59284-0' }] }, { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: kind }] }],
    patient: { reference: `Patient/${patientId}` }, dateTime: '2026-01-01', performer: [{ reference: `Patient/${patientId}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: permit ? 'OPTIN' : 'OPTOUT' }] }, provision,
  };
}
const actor = (reference: string) => ({ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference } });

/** Who authorized whom, to pick authorized (practitioner, patient) pairs. */
const authorizations: Array<[number, string]> = [];

function* generate(): Generator<Item> {
  for (let p = 0; p < PRACTITIONERS; p++) {
    yield { resource: { resourceType: 'Practitioner', id: prac(p) } as Resource, patientId: null };
    yield {
      resource: { resourceType: 'PractitionerRole', id: `${prac(p)}-role`, practitioner: { reference: `Practitioner/${prac(p)}` }, code: [{ coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante', code: professionOf(p) }] }] } as Resource,
      patientId: null,
    };
  }
  for (let i = 0; i < PATIENTS; i++) {
    const id = `pat-${i}`;
    yield { resource: { resourceType: 'Patient', id, name: [{ family: `Patient${i}` }] } as Resource, patientId: id };
    for (let d = 0; d < DOCS; d++) {
      const type = pick(TYPES);
      const document: DocumentReference = {
        resourceType: 'DocumentReference', id: `doc-${i}-${d}`, status: 'current', type: { coding: [{ system: /^\d+-\d$/.test(type) ? LOINC : A05, code: type }] },
        subject: { reference: `Patient/${id}` }, date: '2025-01-01T00:00:00Z', author: [{ reference: `Practitioner/${prac(Math.floor(rand() * PRACTITIONERS))}` }],
        content: [{ attachment: { contentType: 'application/pdf', url: `Binary/bin-${i}-${d}` } }],
        ...(rand() < 0.05 ? { securityLabel: [{ coding: [{ system: A07, code: 'MASQUE_PS' }] }] } : {}),
      };
      yield { resource: document, patientId: id };
    }
    const authorized = [0, 1, 2, 3].map(() => Math.floor(rand() * PRACTITIONERS));
    for (const [n, p] of authorized.entries()) {
      authorizations.push([p, id]);
      yield { resource: choice('authorize', id, `auth-${i}-${n}`, { type: 'permit', actor: [actor(`Practitioner/${prac(p)}`)] }), patientId: id };
    }
    if (rand() < 0.2) yield { resource: choice('block', id, `block-${i}`, { type: 'deny', actor: [actor(`Practitioner/${prac(Math.floor(rand() * PRACTITIONERS))}`)] }), patientId: id };
    if (rand() < 0.3) yield { resource: choice('hide-document', id, `hide-${i}`, { type: 'deny', data: [{ meaning: 'instance', reference: { reference: `DocumentReference/doc-${i}-${Math.floor(rand() * DOCS)}` } }] }), patientId: id };
    if (rand() < 0.05) yield { resource: choice('hide-all', id, `hideall-${i}`, { type: 'deny' }), patientId: id };
    if (rand() < 0.3) yield { resource: choice('emergency', id, `emerg-${i}`, { type: rand() < 0.5 ? 'deny' : 'permit', purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG' }] }), patientId: id };
    if (rand() < 0.1) yield { resource: choice('administrator', id, `admin-${i}`, { type: 'permit', actor: [{ ...actor(`Practitioner/${prac(authorized[0])}`), role: { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/role', code: 'administrator' }] } }] }), patientId: id };
  }
}

const roleOwner = (roleId: string) => (roleId.endsWith('-role') ? roleId.slice(0, -'-role'.length) : undefined);

/** The access tables' rows of a loaded batch, written as the access indexer would (same extraction code). */
async function accessRows(trx: Knex.Transaction, stored: StoredResource[]): Promise<void> {
  const facts = stored.filter((row) => ['DocumentReference', 'Consent'].includes(row.resourceType)).map((row) => ({ rid: row.rid, ...rowFactsOf(row, grid, roleOwner) }));
  await trx.raw(
    `INSERT INTO access_facts (rid, resource_type, id, patient_id, parties, type_keys, labels)
     SELECT x.rid, x.resource_type, x.id, x.patient_id, x.parties::text[], x.type_keys::text[], x.labels::text[]
     FROM json_to_recordset(?::json) AS x(rid bigint, resource_type text, id text, patient_id text, parties text, type_keys text, labels text)`,
    [JSON.stringify(facts.map((f) => ({ rid: f.rid, resource_type: f.resourceType, id: f.id, patient_id: f.patientId, parties: textArray(f.parties), type_keys: textArray(f.typeKeys), labels: textArray(f.labels) })))],
  );
  const links = stored.filter((row) => row.resourceType === 'DocumentReference').flatMap((row) => attachmentTargets(row.content as DocumentReference).map((t) => ({ target_type: t.type, target_id: t.id, document_rid: row.rid })));
  if (links.length) await trx.raw(`INSERT INTO attachment_links SELECT * FROM json_to_recordset(?::json) AS x(target_type text, target_id text, document_rid bigint)`, [JSON.stringify(links)]);
  const rules = stored.filter((row) => row.resourceType === 'Consent').flatMap((row) => consentRulesOf(row.content as Consent, roleOwner).map((r) => ({ consent_rid: row.rid, patient_id: r.patientId, kind: r.kind, effect: r.effect, actor_ref: r.actor, data_id: r.dataId, purpose: r.purpose })));
  if (rules.length) await trx.raw(`INSERT INTO consent_rules SELECT * FROM json_to_recordset(?::json) AS x(consent_rid bigint, patient_id text, kind text, effect text, actor_ref text, data_id text, purpose text)`, [JSON.stringify(rules)]);
}

async function load(carnet: Carnet): Promise<void> {
  const db = carnet.db;
  // the search components as src/server.ts builds them (base R4 + profiles/, the server's base)
  const indexer: SearchIndexer = createSearchEngine({ profilesDir: path.join(ROOT, 'profiles'), baseUrl: `${BASE_URL}/fhir` }).indexer;
  const started = Date.now();
  const now = new Date().toISOString();
  let batch: Item[] = [];
  for (const item of generate()) {
    batch.push(item);
    if (batch.length < BATCH) continue;
    await insertBatch(db, indexer, batch, now, accessRows);
    batch = [];
  }
  if (batch.length > 0) await insertBatch(db, indexer, batch, now, accessRows);
  await foldAllPatientAccess(carnet.sql);
  console.log(`  loaded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await db.raw('VACUUM ANALYZE');
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const stats = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
};

function practitionerCaller(p: number): PractitionerCaller {
  return { kind: 'practitioner', sub: prac(p), scopes: parseScopes('user/*.*'), practitionerId: prac(p), roles: [{ roleId: `${prac(p)}-role`, professions: [professionOf(p)], specialties: [], samuRegulator: false }] };
}

const HEADER = (runs: number) => `\n| measure (${runs} runs) | rules p50 ms | rules p95 ms | no rules p50 ms | no rules p95 ms | ratio p50 | ratio p95 (target ≤ 1.3) |\n|---|---:|---:|---:|---:|---:|---:|`;

/** Runs `a` and `b` interleaved (same patient each round), after warm-up; returns their timings. */
async function compare(name: string, a: (round: number) => Promise<unknown>, b: (round: number) => Promise<unknown>): Promise<void> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let round = 0; round < RUNS + 50; round++) {
    const order = round % 2 === 0 ? [a, b] : [b, a];
    for (const fn of order) {
      const t0 = performance.now();
      await fn(round);
      const elapsed = performance.now() - t0;
      if (round >= 50) (fn === a ? ta : tb).push(elapsed);
    }
  }
  const sa = stats(ta);
  const sb = stats(tb);
  const ratio = sa.p95 / sb.p95;
  console.log(`| ${name} | ${sa.p50.toFixed(2)} | ${sa.p95.toFixed(2)} | ${sb.p50.toFixed(2)} | ${sb.p95.toFixed(2)} | ${(sa.p50 / sb.p50).toFixed(2)} | ${ratio.toFixed(2)}${ratio > 1.3 ? ' ✗' : ''} |`);
}

async function measure(carnet: Carnet): Promise<void> {
  /** A request's session, as the pipeline opens one for the caller. */
  const sessionOf = (caller: Caller) => carnet.sessions.openAs(caller);
  const pairs = authorizations.filter(([p]) => professionOf(p) === '10');
  const pharmaPairs = authorizations.filter(([p]) => professionOf(p) === '21');
  const pair = (list: Array<[number, string]>, round: number) => list[(round * 7919) % list.length];
  const search = async (session: Session, patient: string, access: (type: string) => RowPredicate, count = '20') =>
    session.search.search({ resourceType: 'DocumentReference', query: [['patient', patient], ['_count', count]], access });
  const unrestricted = (patient: string, count = '20') => search(sessionOf(LOADER), patient, () => allowAll, count);
  console.log(HEADER(RUNS));
  for (const [label, list] of [['médecin', pairs], ['pharmacien', pharmaPairs]] as const) {
    await compare(
      `DocumentReference?patient=X (${label}, with checkPatientSpace)`,
      async (round) => {
        const [p, patient] = pair(list, round);
        const session = sessionOf(practitionerCaller(p));
        // as the search interaction does: the space check alongside the search
        const [, result] = await Promise.all([session.access.checkPatientSpace(patient), search(session, patient, (type) => session.access.readable(type))]);
        return result;
      },
      async (round) => unrestricted(pair(list, round)[1]),
    );
  }
  await compare(
    'DocumentReference?patient=X (médecin, predicate only)',
    async (round) => {
      const [p, patient] = pair(pairs, round);
      const session = sessionOf(practitionerCaller(p));
      return search(session, patient, (type) => session.access.readable(type));
    },
    async (round) => unrestricted(pair(pairs, round)[1]),
  );
  await compare(
    'DocumentReference?patient=X&_count=100 (médecin)',
    async (round) => {
      const [p, patient] = pair(pairs, round);
      const session = sessionOf(practitionerCaller(p));
      return search(session, patient, (type) => session.access.readable(type), '100');
    },
    async (round) => unrestricted(pair(pairs, round)[1], '100'),
  );
  await compare(
    'read DocumentReference/id (médecin, authorized)',
    async (round) => {
      const [p, patient] = pair(pairs, round);
      const { store, access } = sessionOf(practitionerCaller(p));
      return store.read('DocumentReference', `doc-${patient.slice(4)}-${round % DOCS}`, access.readable('DocumentReference'));
    },
    async (round) => sessionOf(LOADER).store.read('DocumentReference', `doc-${pair(pairs, round)[1].slice(4)}-${round % DOCS}`, allowAll),
  );
  if (flag('explain')) await explain(carnet, pairs);
}

async function explain(carnet: Carnet, pairs: Array<[number, string]>): Promise<void> {
  const predicate = carnet.sessions.openAs(practitionerCaller(pairs[0][0])).access.readable('DocumentReference').render('r');
  const explain = await carnet.sql.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, BUFFERS) SELECT r.rid FROM resources r WHERE r.resource_type = 'DocumentReference' AND r.patient_id = ? AND (${predicate.sql})`,
    [pairs[0][1], ...predicate.bindings],
    'each',
  );
  console.log(explain.rows.map((row) => row['QUERY PLAN']).join('\n'));
}

/**
 * Through HTTP: a practitioner's token (rules, caller resolution, the
 * patient-space check) against the system client that created every row.
 */
async function measureHttp(url: string): Promise<void> {
  const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-access');
  const keyDir = path.join(dataDir, 'keys');
  fs.mkdirSync(keyDir, { recursive: true });
  const carnet = await startServerProcess('src/main.ts', { DATABASE_URL: url, BASE_URL, DEV_KEY_DIR: keyDir, LOG_LEVEL: 'info' }, 'Carnet listening');
  try {
    const keys = await loadLocalKeys({ dir: keyDir, issuer: BASE_URL });
    const system = await keys.issueToken({ sub: 'bench', scope: 'system/*.*' }, { expiresIn: '2h' });
    const practitionerTokens = new Map<number, string>();
    const practitioner = async (p: number) => {
      let token = practitionerTokens.get(p);
      if (!token) practitionerTokens.set(p, (token = await keys.issueToken({ sub: `prac-${p}`, fhirUser: `Practitioner/${prac(p)}`, scope: 'user/*.*' }, { expiresIn: '2h' })));
      return token;
    };
    const base = `http://127.0.0.1:${carnet.port}/fhir`;
    const get = async (path: string, token: string) => {
      const res = await fetch(`${base}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}`);
    };
    const pairs = authorizations.filter(([p]) => professionOf(p) === '10');
    const pair = (round: number) => pairs[(round * 7919) % pairs.length];
    for (const [p] of pairs) await practitioner(p); // tokens signed before timing
    console.log(`\nThrough HTTP (a server process on the same database, audit on):${HEADER(RUNS)}`);
    await compare(
      'GET DocumentReference?patient=X (médecin vs system client)',
      async (round) => get(`DocumentReference?patient=${pair(round)[1]}`, await practitioner(pair(round)[0])),
      async (round) => get(`DocumentReference?patient=${pair(round)[1]}`, system),
    );
    const documentOf = (round: number) => `DocumentReference/doc-${pair(round)[1].slice(4)}-${round % DOCS}`;
    const readable = new Map<number, boolean>();
    await compare(
      'GET DocumentReference/id (médecin, authorized, vs system client)',
      async (round) => {
        // a document the grid lets a médecin read (most are; hidden ones are skipped)
        const [p] = pair(round);
        const token = await practitioner(p);
        const res = await fetch(`${base}/${documentOf(round)}`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        readable.set(round, res.status === 200);
      },
      async (round) => get(documentOf(round), system),
    );
    const refused = [...readable.values()].filter((ok) => !ok).length;
    console.log(`  (${refused} of ${readable.size} practitioner reads were 404: hidden documents, timed alike)`);
  } finally {
    await carnet.stop();
  }
}

async function main(): Promise<void> {
  let embedded: EmbeddedDatabase | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbedded(path.resolve(process.env.DATA_DIR ?? './data/bench-access'), Number(process.env.ACCESS_BENCH_PG_PORT ?? 54353));
    url = await embedded.ensureDatabase(`carnet_bench_access_${PATIENTS}_${DOCS}`);
  }
  const dataDir = path.resolve(process.env.DATA_DIR ?? './data/bench-access');
  const config = loadConfig({ BASE_URL, DEV_KEY_DIR: path.join(dataDir, 'keys'), LOG_LEVEL: 'silent', NOTIFY_WORKER: 'off' });
  const carnet = await createCarnet(config, url, createLogger('silent'));
  const db = carnet.db;
  try {
    const existing = Number((await db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM resources WHERE resource_type = 'DocumentReference'`)).rows[0].n);
    if (flag('keep') && existing === PATIENTS * DOCS) {
      console.log(`  reusing ${existing} DocumentReferences`);
      for (const _ of generate()); // replays the generator to know the authorizations
    } else {
      await db.raw('TRUNCATE resources, resource_versions, search_string, search_token, search_reference, search_date, search_number, search_quantity, search_uri, access_facts, attachment_links, consent_rules, patient_access');
      await load(carnet);
    }
    const size = (await db.raw<{ rows: { docs: string; rules: string }[] }>(`SELECT (SELECT count(*) FROM access_facts) AS docs, (SELECT count(*) FROM consent_rules) AS rules`)).rows[0];
    console.log(`  ${PATIENTS} patients, ${size.docs} access_facts rows, ${size.rules} consent rules`);
    await measure(carnet);
    if (!flag('no-http')) await measureHttp(url);
  } finally {
    await carnet.close();
    await embedded?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
