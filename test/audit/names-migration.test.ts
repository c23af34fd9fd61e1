/**
 * Migration 20261202000100 on a database that already holds AuditEvents:
 * the events stored before it get their `names` when it adds the generated
 * column (the append-only trigger is not in the way: nothing is UPDATEd), and
 * their content and hash chain are untouched — `$verify-audit` still verifies.
 * Migration 20261205000000 then keeps those names (the column is no longer
 * generated) and the events appended after it get theirs from the trail.
 */
import type { Parameters } from 'fhir/r4';
import type { FhirResponse } from '../../src/kernel/request';
import { documentReference } from '../access/builders';
import { callers, patientResource, startHarness, type Harness } from './harness';

const MIGRATION = '20261202000100_audit_event_names.ts';
/** Gives `names` from the trail instead of generating it; undone first, redone last. */
const GIVEN = '20261205000000_audit_names_given.ts';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ NOTIFY_WORKER: 'off' });
});
afterAll(() => h.close());

it('events stored before the migration get their names; content and chain unchanged', async () => {
  const db = h.server.carnet.db;
  const hasNames = async () => (await db.raw<{ rows: unknown[] }>("SELECT 1 FROM information_schema.columns WHERE table_name = 'audit_events' AND column_name = 'names'")).rows.length > 0;
  await db.migrate.down({ name: GIVEN });
  await db.migrate.down({ name: MIGRATION });
  expect(await hasNames()).toBe(false);
  const patientId = (await h.seed(patientResource('Avant'))).id;
  const document = await h.seed(documentReference('before-migration', patientId));
  expect((await h.call(callers.system('seed-lab'), 'GET', `DocumentReference/${document.id}`)).status).toBe(200);
  const before = await db.raw<{ rows: { content: string; hash: string }[] }>('SELECT content::text AS content, hash FROM audit_events WHERE patient_id = ? ORDER BY position', [patientId]);
  expect(before.rows).toHaveLength(1);

  await db.migrate.up({ name: MIGRATION });
  expect(await hasNames()).toBe(true);
  await db.migrate.up({ name: GIVEN });
  const after = await db.raw<{ rows: { content: string; hash: string; names: string[] }[] }>('SELECT content::text AS content, hash, names FROM audit_events WHERE patient_id = ? ORDER BY position', [patientId]);
  expect(after.rows.map(({ content, hash }) => ({ content, hash }))).toEqual(before.rows);
  expect(after.rows[0].names).toEqual(['before-migration']);
  expect((await h.call(callers.system('seed-lab'), 'GET', `DocumentReference/${document.id}`)).status).toBe(200);
  const appended = await db.raw<{ rows: { names: string[] }[] }>('SELECT names FROM audit_events WHERE patient_id = ? ORDER BY position', [patientId]);
  expect(appended.rows.map((row) => row.names)).toEqual([['before-migration'], ['before-migration']]);
  const report = (await h.call(callers.patient(patientId), 'GET', `Patient/${patientId}/$verify-audit`)) as FhirResponse;
  expect((report.body as Parameters).parameter?.[0]).toEqual({ name: 'result', valueBoolean: true });
});
