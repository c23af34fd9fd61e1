/**
 * Erasure of a space (§7: an opposition, the retention purge): two patients with something of
 * every kind and audited activity; X is erased in one transaction. Then no row of any table of
 * the database mentions an id of X's data — a search of every table, so a table added later
 * and forgotten by the erasure fails here — while Y is whole: the same rows, the same reads,
 * searches, $everything and a sound audit chain; the shared directory and a Binary Y's document
 * shares with X stay. The report gives counts per table and no id.
 */
import type { Bundle, Parameters } from 'fhir/r4';
import { startTestServer, get, type TestServer } from '../support/server';
import { erasePatient, ERASED_TABLES, type ErasureReport } from '../../src/accounts/erasure';
import { seedDirectory, seedSpace, SHARED, type Space } from './spaces';
import { binary } from '../access/builders';

const SHARED_BINARY = 'sp-shared-bin';
let server: TestServer;
let x: Space;
let y: Space;
let report: ErasureReport;
let xBefore: Record<string, number>;
let yBefore: Record<string, number>;
let xAfter: Record<string, number>;
let yAfter: Record<string, number>;
let yEverythingBefore: string[];
let yEverythingAfter: string[];
let yAuditBefore: { result: boolean; events: number };
let yAuditAfter: { result: boolean; events: number };

/** For each table of the public schema, how many rows mention one of `ids` (any column, as text). */
async function rowsMentioning(ids: string[]): Promise<Record<string, number>> {
  const tables = await server.carnet.sql.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`);
  const patterns = ids.map((id) => `%${id}%`);
  const counts: Record<string, number> = {};
  for (const { name } of tables.rows) {
    const found = await server.carnet.sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}" t WHERE t::text LIKE ANY(?::text[])`, [patterns]);
    counts[name] = Number(found.rows[0].n);
  }
  return counts;
}

const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
const entryIds = (bundle: Bundle) => (bundle.entry ?? []).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`).sort();

async function everythingOf(space: Space): Promise<string[]> {
  const response = await get(server, `Patient/${space.patientId}/$everything?_count=1000`, await server.patientToken(space.patientId));
  expect(response.status).toBe(200);
  return entryIds(response.body);
}

async function verifyAudit(space: Space): Promise<{ result: boolean; events: number }> {
  const response = await get(server, `Patient/${space.patientId}/$verify-audit`, await server.patientToken(space.patientId));
  expect(response.status).toBe(200);
  const parameters = response.body as Parameters;
  const part = (name: string) => parameters.parameter?.find((p) => p.name === name);
  return { result: part('result')?.valueBoolean as boolean, events: part('events')?.valueInteger as number };
}

beforeAll(async () => {
  server = await startTestServer({ NOTIFY_WORKER: 'off' });
  await seedDirectory(server);
  await server.put(binary(SHARED_BINARY), `Practitioner/${SHARED.gp}`);
  x = await seedSpace(server, 'erx', SHARED_BINARY);
  y = await seedSpace(server, 'ery', SHARED_BINARY);
  await server.carnet.sql.transaction(async (trx) => {
    await server.carnet.accountMessages.queue(trx, { channel: 'letter', to: `Patient/${x.patientId}`, template: 'opening-notice', params: {} });
    await server.carnet.accountMessages.queue(trx, { channel: 'letter', to: `RelatedPerson/${x.representativeId}`, template: 'opening-notice', params: {} });
  });
  xBefore = await rowsMentioning(x.ids);
  yBefore = await rowsMentioning(y.ids);
  yEverythingBefore = await everythingOf(y);
  yAuditBefore = await verifyAudit(y);
  report = await server.carnet.sql.transaction((trx) => erasePatient(trx, x.patientId, { baseUrl: 'http://carnet.test/fhir' }));
  // What Y and the tables hold right after, before any test reads again (a practitioner's read adds events).
  xAfter = await rowsMentioning(x.ids);
  yAfter = await rowsMentioning(y.ids);
  yEverythingAfter = await everythingOf(y);
  yAuditAfter = await verifyAudit(y);
}, 120_000);

afterAll(() => server?.close());

describe('the erased patient', () => {
  it('was everywhere before: the search of the tables can fail', () => {
    expect(Object.keys(nonZero(xBefore))).toEqual(
      expect.arrayContaining(['resources', 'resource_versions', 'search_token', 'search_reference', 'access_facts', 'attachment_links', 'consent_rules', 'patient_access', 'patient_identities', 'audit_events', 'audit_heads', 'notification_outbox', 'account_messages']),
    );
  });

  it('is mentioned by no row of any table afterwards', () => {
    expect(nonZero(xAfter)).toEqual({});
  });

  it('left a report of counts per table, naming no id', () => {
    expect(Object.keys(report)).toEqual([...ERASED_TABLES]);
    for (const table of ['resources', 'resource_versions', 'audit_events', 'audit_heads', 'patient_identities', 'patient_access', 'consent_rules'] as const) expect(report[table]).toBe(xBefore[table]);
    expect(report.notification_outbox).toBe(report.audit_events);
    expect(report.account_messages).toBe(2);
    expect(JSON.stringify(report)).not.toMatch(/erx/);
  });

  it.each([
    ['a document', () => `DocumentReference/${x.documents.visible}`],
    ['its Binary', () => `Binary/${x.binaries.linked}`],
    ['a Binary of an earlier version of a document', () => `Binary/${x.binaries.earlier}`],
    ['a Binary with X as securityContext', () => `Binary/${x.binaries.patientContext}`],
    ['a Binary with X’s document as securityContext', () => `Binary/${x.binaries.documentContext}`],
  ])('is gone for the practitioner X had authorized: %s → 404', async (_what, path) => {
    expect((await get(server, path(), await server.practitionerToken(SHARED.gp))).status).toBe(404);
  });

  it('is gone for the client that created it: Patient/X → 404', async () => {
    expect((await get(server, `Patient/${x.patientId}`, await server.systemToken('test-operator'))).status).toBe(404);
  });

  it('is gone from the searches of shared data', async () => {
    const search = await get(server, `Observation?subject=Patient/${x.patientId}`, await server.systemToken('test-operator'));
    expect(search.body.entry ?? []).toHaveLength(0);
  });
});

describe('the other patient', () => {
  it('keeps every row that mentions them', () => {
    expect(yAfter).toEqual(yBefore);
    expect(nonZero(yAfter)).toEqual(expect.objectContaining({ resources: expect.any(Number), audit_events: expect.any(Number) }));
  });

  it('gets the same $everything, and reads and searches their data', async () => {
    expect(yEverythingAfter).toEqual(yEverythingBefore);
    expect(yEverythingAfter).toEqual(expect.arrayContaining([`DocumentReference/${y.documents.visible}`, `Patient/${y.patientId}`]));
    const token = await server.patientToken(y.patientId);
    expect((await get(server, `Patient/${y.patientId}`, token)).status).toBe(200);
    const observations = await get(server, `Observation?patient=${y.patientId}&_total=accurate`, token);
    expect(observations.body.total).toBe(1);
  });

  it('still has a sound audit chain, with the same events', () => {
    expect(yAuditBefore.result).toBe(true);
    expect(yAuditAfter).toEqual(yAuditBefore);
  });

  it('is still read by the practitioner they authorized, the shared Binary included', async () => {
    const gp = await server.practitionerToken(SHARED.gp);
    expect((await get(server, `DocumentReference/${y.documents.visible}`, gp)).status).toBe(200);
    expect((await get(server, `Binary/${y.binaries.linked}`, gp)).status).toBe(200);
    expect((await get(server, `Binary/${SHARED_BINARY}`, gp)).status).toBe(200);
  });

  it.each([
    ['Practitioner', SHARED.gp],
    ['Organization', SHARED.organization],
    ['Location', SHARED.location],
    ['Binary', SHARED_BINARY],
  ])('shares data that stays: %s', async (type, id) => {
    const row = await server.carnet.sql.query('SELECT 1 FROM resources WHERE resource_type = ? AND id = ? AND NOT deleted', [type, id]);
    expect(row.rows).toHaveLength(1);
  });
});
