/**
 * Tamper evidence and group commit (CONTRACT §6, issue 5): the audit tables
 * are append-only; `$verify-audit` names the first broken link when a row is
 * altered, removed or the latest ones are cut off; concurrent requests'
 * AuditEvents are written together and every patient's chain stays whole.
 */
import type { Parameters, ParametersParameter } from 'fhir/r4';
import type { Caller } from '../../src/kernel/caller';
import type { FhirResponse } from '../../src/kernel/request';
import { linkHash } from '../../src/audit/chain';
import { callers, observationFor, patientResource, startHarness, type Harness } from './harness';

let h: Harness;
/** Médecins the patients of this suite authorize (CONTRACT §4.2), so their reads succeed. */
const readers: Caller[] = [];

beforeAll(async () => {
  h = await startHarness();
  for (let i = 0; i < 4; i++) readers.push(await h.practitioner(`p${i}`));
});
afterAll(() => h.close());

async function verify(patientId: string): Promise<Parameters> {
  const result = (await h.call(callers.patient(patientId), 'GET', `Patient/${patientId}/$verify-audit`)) as FhirResponse;
  expect(result.status).toBe(200);
  return result.body as Parameters;
}

const param = (parameters: Parameters, name: string): ParametersParameter | undefined => parameters.parameter?.find((p) => p.name === name);
const part = (parameter: ParametersParameter | undefined, name: string) => parameter?.part?.find((p) => p.name === name);

/** A patient who authorized every reader, with one Observation. */
async function patientWithObservation(family: string): Promise<{ patientId: string; obs: string }> {
  const patientId = (await h.seed(patientResource(family))).id;
  for (let i = 0; i < readers.length; i++) await h.authorize(patientId, `p${i}`);
  return { patientId, obs: (await h.seed(observationFor(patientId))).id };
}

async function patientWithEvents(family: string, reads: number): Promise<{ patientId: string; eventIds: string[] }> {
  const { patientId, obs } = await patientWithObservation(family);
  for (let i = 0; i < reads; i++) expect((await h.call(readers[i % readers.length], 'GET', `Observation/${obs}`)).status).toBe(200);
  const rows = await h.server.carnet.db.raw<{ rows: { id: string }[] }>('SELECT id FROM audit_events WHERE patient_id = ? ORDER BY position', [patientId]);
  return { patientId, eventIds: rows.rows.map((r) => r.id) };
}

/**
 * How many flushes stored these patients' events: each flush is one statement, so one
 * transaction, and the rows it inserted share its transaction id (xmin).
 */
async function flushesOf(patientIds: string[]): Promise<{ events: number; flushes: number }> {
  const { rows } = await h.server.carnet.db.raw<{ rows: { events: string; flushes: string }[] }>(
    'SELECT count(*) AS events, count(DISTINCT xmin::text) AS flushes FROM audit_events WHERE patient_id = ANY(?)',
    [patientIds],
  );
  return { events: Number(rows[0].events), flushes: Number(rows[0].flushes) };
}

/** What an attacker with database access does: switch the append-only trigger off, change rows, switch it on. */
async function tamper(sql: string, bindings: string[]): Promise<void> {
  const db = h.server.carnet.db;
  await db.transaction(async (trx) => {
    await trx.raw('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await trx.raw(sql, bindings);
    await trx.raw('ALTER TABLE audit_events ENABLE TRIGGER USER');
  });
}

describe('the chain', () => {
  it('links each event to the previous one of the same patient', async () => {
    const { patientId } = await patientWithEvents('Chain', 3);
    const rows = await h.server.carnet.db.raw<{ rows: { position: string; prev_hash: string; hash: string; content: string }[] }>(
      'SELECT position, prev_hash, hash, content::text AS content FROM audit_events WHERE patient_id = ? ORDER BY position',
      [patientId],
    );
    let previous = '';
    rows.rows.forEach((row, index) => {
      expect(Number(row.position)).toBe(index + 1);
      expect(row.prev_hash).toBe(previous);
      expect(row.hash).toBe(linkHash(previous, patientId, index + 1, row.content));
      previous = row.hash;
    });
    expect(param(await verify(patientId), 'result')?.valueBoolean).toBe(true);
    expect(param(await verify(patientId), 'events')?.valueInteger).toBe(3);
  });

  it('PostgreSQL (appending) and the verifier hash the same bytes, accents included', async () => {
    const content = '{"agent":[{"purposeOfUse":[{"text":"arrêt cardiaque — 🚑"}]}]}';
    const sql = await h.server.carnet.db.raw<{ rows: { hash: string }[] }>(`SELECT encode(sha256(convert_to(? || '|' || ? || '|' || ?::bigint || '|' || ?, 'UTF8')), 'hex') AS hash`, ['abc', 'p-1', 7, content]);
    expect(linkHash('abc', 'p-1', 7, content)).toBe(sql.rows[0].hash);
  });

  it.each([
    ['UPDATE', 'UPDATE audit_events SET outcome = 4'],
    ['DELETE', 'DELETE FROM audit_events'],
    ['TRUNCATE', 'TRUNCATE audit_events'],
  ])('the table refuses %s', async (_name, sql) => {
    await expect(h.server.carnet.db.raw(sql)).rejects.toThrow(/append-only/);
  });
});

describe('$verify-audit catches tampering in the database', () => {
  it('an altered row: content-altered at its position', async () => {
    const { patientId, eventIds } = await patientWithEvents('Altered', 4);
    await tamper(`UPDATE audit_events SET content = jsonb_set(content::jsonb, '{agent,0,who,reference}', '"Practitioner/innocent"')::json WHERE id = ?`, [eventIds[1]]);
    const report = await verify(patientId);
    expect(param(report, 'result')?.valueBoolean).toBe(false);
    const broken = param(report, 'firstBroken');
    expect(part(broken, 'position')?.valueInteger).toBe(2);
    expect(part(broken, 'auditEvent')?.valueReference?.reference).toBe(`AuditEvent/${eventIds[1]}`);
    expect(part(broken, 'reason')?.valueCode).toBe('content-altered');
    const outcome = param(report, 'outcome')?.resource;
    expect(outcome?.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(outcome)).toContain(`AuditEvent/${eventIds[1]}`);
  });

  it('an altered row whose hash was recomputed: the next link breaks', async () => {
    const { patientId, eventIds } = await patientWithEvents('Rehashed', 3);
    await tamper(`UPDATE audit_events SET content = jsonb_set(content::jsonb, '{outcome}', '"4"')::json WHERE id = ?`, [eventIds[0]]);
    const row = (await h.server.carnet.db.raw<{ rows: { content: string }[] }>('SELECT content::text AS content FROM audit_events WHERE id = ?', [eventIds[0]])).rows[0];
    await tamper('UPDATE audit_events SET hash = ? WHERE id = ?', [linkHash('', patientId, 1, row.content), eventIds[0]]);
    const broken = param(await verify(patientId), 'firstBroken');
    expect(part(broken, 'position')?.valueInteger).toBe(2);
    expect(part(broken, 'reason')?.valueCode).toBe('link-broken');
  });

  it('a removed row: event-missing where it was', async () => {
    const { patientId, eventIds } = await patientWithEvents('Removed', 4);
    await tamper('DELETE FROM audit_events WHERE id = ?', [eventIds[2]]);
    const broken = param(await verify(patientId), 'firstBroken');
    expect(part(broken, 'position')?.valueInteger).toBe(3);
    expect(part(broken, 'reason')?.valueCode).toBe('event-missing');
  });

  it('the latest row removed: head-mismatch', async () => {
    const { patientId, eventIds } = await patientWithEvents('Truncated', 3);
    await tamper('DELETE FROM audit_events WHERE id = ?', [eventIds[2]]);
    const broken = param(await verify(patientId), 'firstBroken');
    expect(part(broken, 'reason')?.valueCode).toBe('head-mismatch');
    expect(part(broken, 'position')?.valueInteger).toBe(3);
  });

  it('other patients\' chains are unaffected', async () => {
    const { patientId } = await patientWithEvents('Untouched', 2);
    expect(param(await verify(patientId), 'result')?.valueBoolean).toBe(true);
  });
});

describe('group commit', () => {
  it('30 concurrent requests over 3 patients: fewer flushes than requests, every chain whole', async () => {
    const seeded = await Promise.all(['G1', 'G2', 'G3'].map((family) => patientWithObservation(family)));
    const patients = seeded.map((p) => p.patientId);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => h.call(readers[i % readers.length], 'GET', `Observation/${seeded[i % 3].obs}`)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const { events, flushes } = await flushesOf(patients);
    expect(events).toBe(30);
    expect(flushes).toBeLessThan(30);
    for (const patientId of patients) {
      const report = await verify(patientId);
      expect(param(report, 'result')?.valueBoolean).toBe(true);
      expect(param(report, 'events')?.valueInteger).toBe(10);
    }
  });

  it('two server processes appending to the same chains at once keep them whole', async () => {
    const seeded = await Promise.all(['T1', 'T2'].map((family) => patientWithObservation(family)));
    const other = await h.server.sibling(); // another Carnet on the same database, its own audit trail
    const request = (i: number) => ({ method: 'GET' as const, path: `Observation/${seeded[i % 2].obs}`, query: [], headers: {} });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 4 < 2 ? h.server.carnet.pipeline.handle(request(i), readers[i % readers.length]) : other.pipeline.handle(request(i), readers[i % readers.length]))),
    );
    await other.close();
    expect(results.every((r) => r.status === 200)).toBe(true);
    for (const { patientId } of seeded) {
      const report = await verify(patientId);
      expect(param(report, 'result')?.valueBoolean).toBe(true);
      expect(param(report, 'events')?.valueInteger).toBe(20);
    }
  });

  it('a search touching many patients stores one event each, in one flush', async () => {
    const seeded = await Promise.all(Array.from({ length: 12 }, (_, i) => patientWithObservation(`S${i}`)));
    const result = await h.call(readers[0], 'GET', 'Observation', { query: [['_id', seeded.map((p) => p.obs).join(',')], ['_count', '50']] });
    expect(result.status).toBe(200);
    expect(await flushesOf(seeded.map((p) => p.patientId))).toEqual({ events: 12, flushes: 1 });
  });
});
