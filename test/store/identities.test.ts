/**
 * One Patient per INS-NIR (CONTRACT §3 "Patient identity (INS)"), enforced by
 * `patient_identities` (store/identities.ts) inside every write's transaction:
 * each way a second Patient could come to hold a NIR is a 409
 * OperationOutcome, concurrent writers included; a conditional create by a
 * client that may resolve the NIR is answered the existing Patient (200).
 * A deleted Patient releases its NIR. Without the identity indexer every 409
 * row below is a 201 or 200: a second Patient with the same NIR.
 */
import type { Bundle, OperationOutcome, Patient, Resource } from 'fhir/r4';
import { FHIR_JSON, send, startTestServer, type TestServer } from '../support/server';
import { postBundle } from '../bundle/fixtures';
import { down, up } from '../../src/store/migrations/20261202000000_patient_identities';

const INS = 'urn:oid:1.2.250.1.213.1.4.8';

let counter = 0;
const freshNir = () => `1800175${String(++counter).padStart(8, '0')}`;
const patient = (nir: string, extra: Partial<Patient> = {}): Patient => ({ resourceType: 'Patient', identifier: [{ system: INS, value: nir }], name: [{ family: 'Martin' }], ...extra });

describe('one Patient per INS-NIR', () => {
  let server: TestServer;
  /** Hospital A and B write Patients; C may create but not read them (it resolves nothing). */
  let a: string;
  let b: string;
  let c: string;
  beforeAll(async () => {
    server = await startTestServer();
    a = await server.systemToken('ins-hospital-a', 'system/Patient.cruds');
    b = await server.systemToken('ins-hospital-b', 'system/Patient.cruds');
    c = await server.systemToken('ins-hospital-c', 'system/Patient.c');
  });
  afterAll(() => server.close());

  const create = async (token: string, nir: string) => send(server, 'post', 'Patient', token, patient(nir));
  const conditionalCreate = (token: string, nir: string) =>
    server.request.post('/fhir/Patient').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${INS}|${nir}`).send(JSON.stringify(patient(nir)));
  const update = (token: string, id: string, nir: string) => send(server, 'put', `Patient/${id}`, token, { ...patient(nir), id });
  const patchNir = (token: string, id: string, nir: string) =>
    server.request
      .patch(`/fhir/Patient/${id}`)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'replace', path: '/identifier/0/value', value: nir }]));
  const remove = (token: string, id: string) => server.request.delete(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${token}`);
  const transaction = (token: string, patients: Patient[]) =>
    postBundle(server, token, { resourceType: 'Bundle', type: 'transaction', entry: patients.map((resource) => ({ resource, request: { method: 'POST', url: 'Patient' } })) } satisfies Bundle);

  type Step = (nir: string, previous: { id?: string }[]) => Promise<{ status: number; body: { id?: string } }>;
  /** [name, steps, their statuses, Patients holding the NIR at the end (1 unless said)] */
  const cases: [string, Step[], number[], number?][] = [
    ['two creates by one client', [(nir) => create(a, nir), (nir) => create(a, nir)], [201, 409]],
    ['a create by another client', [(nir) => create(a, nir), (nir) => create(b, nir)], [201, 409]],
    ['a conditional create by a client that cannot read (so resolves nothing)', [(nir) => create(a, nir), (nir) => conditionalCreate(c, nir)], [201, 409]],
    ['a conditional create by a client that resolves the NIR', [(nir) => create(a, nir), (nir) => conditionalCreate(b, nir)], [201, 200]],
    ['an update changing its NIR to a taken one', [(nir) => create(a, nir), () => create(a, freshNir()), (nir, [, second]) => update(a, second.id as string, nir)], [201, 201, 409]],
    ['a patch changing its NIR to a taken one', [(nir) => create(a, nir), () => create(a, freshNir()), (nir, [, second]) => patchNir(a, second.id as string, nir)], [201, 201, 409]],
    ['a transaction entry', [(nir) => create(a, nir), (nir) => transaction(b, [patient(nir)])], [201, 409]],
    ['two entries of one transaction', [(nir) => transaction(a, [patient(nir), patient(nir, { name: [{ family: 'Autre' }] })])], [409], 0],
    ['an update keeping its NIR (no conflict with itself)', [(nir) => create(a, nir), (nir, [first]) => update(a, first.id as string, nir)], [201, 200]],
    ['a create once the holder is deleted (a deleted Patient releases its NIR)', [(nir) => create(a, nir), (_nir, [first]) => remove(a, first.id as string), (nir) => create(b, nir)], [201, 204, 201]],
  ];

  it.each(cases)('%s', async (_name, steps, statuses, holding = 1) => {
    const nir = freshNir();
    const answers: { status: number; body: { id?: string } }[] = [];
    for (const step of steps) answers.push(await step(nir, answers.map((answer) => answer.body)));
    expect(answers.map((answer) => answer.status)).toEqual(statuses);
    for (const conflict of answers.filter((answer) => answer.status === 409)) {
      const issue = (conflict.body as OperationOutcome).issue[0];
      expect([issue.code, issue.diagnostics]).toEqual(['duplicate', expect.stringContaining('INS-NIR') as unknown]);
      // the holder is never named
      for (const answer of answers) if (answer.body.id) expect(JSON.stringify(conflict.body)).not.toContain(answer.body.id);
    }
    const holders = await server.carnet.sql.query<{ n: string }>(`SELECT count(*) AS n FROM resources WHERE resource_type = 'Patient' AND NOT deleted AND content->'identifier' @> ?::jsonb`, [JSON.stringify([{ system: INS, value: nir }])]);
    expect(Number(holders.rows[0].n)).toBe(holding);
  });

  it.each([
    ['creates by six clients', (token: string, nir: string) => create(token, nir), [201], 409],
    ['conditional creates by six clients that resolve the NIR', (token: string, nir: string) => conditionalCreate(token, nir), [201], 200],
  ])('concurrent %s: exactly one Patient', async (_name, write, created, others) => {
    const nir = freshNir();
    const tokens = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => server.systemToken(`ins-racer-${i}`, 'system/Patient.cruds')));
    const answers = await Promise.all(tokens.map((token) => write(token, nir)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([...created, ...Array(5).fill(others)].sort());
    const ids = new Set(answers.filter((answer) => answer.status < 300).map((answer) => (answer.body as Resource).id));
    expect(ids.size).toBe(1);
  });

  it('the migration claims the Patients stored before it in rid order: a later duplicate is left unclaimed, and its next write is 409', async () => {
    const nir = freshNir();
    const stored = (id: string) => JSON.stringify({ resourceType: 'Patient', id, identifier: [{ system: INS, value: nir }] });
    for (const id of ['before-1', 'before-2']) {
      await server.carnet.sql.query(`INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, patient_id, created_by, content) VALUES ('Patient', ?, 1, now(), false, ?, 'client:ins-hospital-a', ?::jsonb)`, [id, id, stored(id)]);
    }
    await down(server.carnet.db);
    await up(server.carnet.db);
    const claims = await server.carnet.sql.query<{ patient_id: string }>('SELECT patient_id FROM patient_identities WHERE nir = ?', [nir]);
    expect(claims.rows.map((row) => row.patient_id)).toEqual(['before-1']);
    expect((await update(a, 'before-2', nir)).status).toBe(409);
    expect((await update(a, 'before-1', nir)).status).toBe(200);
  });
});
