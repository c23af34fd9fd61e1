/**
 * A create under a generated id (ResourceStore.insertNew, the POST path):
 * when every indexer can write its rows as part of the insert, the row, its
 * first version, its search index rows, its access facts and attachment links
 * are one statement, with no transaction around it — and they are the same
 * rows, value for value, as the insert-then-index path writes in a
 * transaction. A Patient (its INS-NIR claim) and a Consent (its rules fold)
 * still take a transaction. An id already taken writes nothing at all.
 * Statements are watched on the pg client.
 */
import { Client } from 'pg';
import type { Resource } from 'fhir/r4';
import { testDatabase, type TestDatabase } from '../support/database';
import { PoolExecutor, type Executor } from '../../src/store/executor';
import { ResourceStore } from '../../src/store/resources';
import { createSearchEngine } from '../../src/search';
import { AccessIndexer, composeIndexers } from '../../src/access/indexer';
import { identityIndexer } from '../../src/store/identities';
import { BinaryContentIndexer } from '../../src/store/binary-contents';

const BASE = 'http://carnet.test/fhir';
let t: TestDatabase;
let pool: PoolExecutor;
let store: ResourceStore;
let counter = 0;

const wire = jest.spyOn(Client.prototype, 'query');
const sent = (): string[] => wire.mock.calls.map(([statement]) => (typeof statement === 'string' ? statement : ((statement as { text?: string }).text ?? '')).replace(/\s+/g, ' ').trim()).filter((text) => text !== 'select version();'); // knex asks it of each new connection

beforeAll(async () => {
  t = await testDatabase();
  pool = new PoolExecutor(t.db);
  const indexer = composeIndexers(identityIndexer, createSearchEngine({ baseUrl: BASE }).indexer, new AccessIndexer(undefined, BASE), new BinaryContentIndexer(BASE));
  store = new ResourceStore(pool, indexer);
});
beforeEach(() => wire.mockClear());
afterAll(async () => {
  wire.mockRestore();
  await t.drop();
});

const id = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`;
const document = (docId: string, patientId: string): Resource =>
  ({
    resourceType: 'DocumentReference',
    id: docId,
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
    subject: { reference: `Patient/${patientId}` },
    author: [{ reference: 'Practitioner/p-1' }],
    date: '2026-11-26T10:00:00Z',
    description: 'Compte rendu',
    meta: { security: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument', code: 'MASQUE_PS' }] },
    content: [{ attachment: { contentType: 'application/pdf', url: `${BASE}/Binary/bin-${docId}` } }],
  }) as Resource;
const input = (resource: Resource, patientId: string | null) => ({ resource, patientId, createdBy: 'client:lab', method: 'POST' as const, generatedId: true });

/** Every row written for `rid` outside `resources`, without the rid, the id and what names them (so two resources can be compared). */
async function rowsOf(sql: Executor, rid: number, docId: string): Promise<Record<string, unknown[]>> {
  const tables = ['search_string', 'search_token', 'search_reference', 'search_date', 'search_number', 'search_quantity', 'search_uri'];
  const rows: Record<string, unknown[]> = {};
  const anonymous = (row: Record<string, unknown>) => JSON.parse(JSON.stringify(row).split(docId).join('ID')) as unknown;
  for (const table of tables) rows[table] = (await sql.query<Record<string, unknown>>(`SELECT * FROM ${table} t WHERE rid = ? ORDER BY t::text`, [rid])).rows.map(({ rid: _rid, ...row }) => anonymous(row));
  rows.access_facts = (await sql.query<Record<string, unknown>>('SELECT * FROM access_facts WHERE rid = ?', [rid])).rows.map(({ rid: _rid, ...row }) => anonymous(row));
  rows.attachment_links = (await sql.query<Record<string, unknown>>('SELECT target_type, target_id FROM attachment_links WHERE document_rid = ?', [rid])).rows.map(anonymous);
  rows.resource_versions = (await sql.query<Record<string, unknown>>('SELECT version_id, method, patient_id, created_by FROM resource_versions WHERE rid = ?', [rid])).rows;
  return rows;
}

it('writes a DocumentReference, its version, index rows, facts and links in one statement, the rows the transaction path writes', async () => {
  const patientId = id('p');
  const oneDoc = id('one');
  const stored = await store.insertNew(input(document(oneDoc, patientId), patientId));
  expect(stored).toBeDefined();
  expect(sent()).toHaveLength(1); // no BEGIN, no COMMIT, no second statement
  expect(sent()[0]).toMatch(/^WITH new_row AS \( INSERT INTO resources/);

  const twoDoc = id('two');
  const other = await pool.transaction((trx) => store.on(trx).insert({ ...input(document(twoDoc, patientId), patientId), generatedId: false }));
  const one = await rowsOf(pool, stored?.rid as number, oneDoc);
  const two = await rowsOf(pool, other?.rid as number, twoDoc);
  expect(one).toEqual(two);
  expect(one.access_facts).toHaveLength(1);
  expect(one.attachment_links).toEqual([{ target_type: 'Binary', target_id: 'bin-ID' }]);
  expect(one.search_reference.length).toBeGreaterThan(0);
});

it.each([
  ['a Patient (its INS-NIR is claimed)', (patientId: string): Resource => ({ resourceType: 'Patient', id: patientId, identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: `2${String(Date.now()).slice(-12)}${counter++}`.slice(0, 15) }] }) as Resource],
  ['a Consent (its rules are folded)', (patientId: string): Resource => ({ resourceType: 'Consent', id: id('c'), status: 'active', scope: { coding: [{ code: 'patient-privacy' }] }, category: [{ coding: [{ code: '59284-0' }] }], patient: { reference: `Patient/${patientId}` }, provision: { type: 'deny', actor: [{ role: { coding: [{ code: 'IRCP' }] }, reference: { reference: 'Practitioner/p-2' } }] } }) as Resource],
])('%s takes a transaction', async (_name, build) => {
  const patientId = id('p');
  expect(await store.insertNew(input(build(patientId), patientId))).toBeDefined();
  expect(sent()[0]).toBe('BEGIN;');
  expect(sent()[sent().length - 1]).toBe('COMMIT;');
});

it('writes nothing for an id already taken', async () => {
  const patientId = id('p');
  const docId = id('dup');
  const first = await store.insertNew(input(document(docId, patientId), patientId));
  const before = await rowsOf(pool, first?.rid as number, docId);
  const count = async () => Number((await pool.query<{ n: string }>('SELECT (SELECT count(*) FROM access_facts) + (SELECT count(*) FROM search_reference) + (SELECT count(*) FROM attachment_links) + (SELECT count(*) FROM resource_versions) AS n')).rows[0].n);
  const total = await count();
  expect(await store.insertNew(input(document(docId, patientId), patientId))).toBeUndefined();
  expect(await count()).toBe(total);
  expect(await rowsOf(pool, first?.rid as number, docId)).toEqual(before);
});
