/**
 * CONTRACT §6 over HTTP: `GET /fhir/Patient/{id}/$verify-audit` is answered
 * to patient X, X's legal representatives and the system clients named in
 * AUDIT_VERIFIERS only. Everyone else — another patient, practitioners
 * (authorized or blocked by X), system clients not listed, an operator — gets
 * exactly the answer of a patient that does not exist (status, OperationOutcome
 * text, headers), so the count of X's events is no oracle; each attempt by
 * someone other than X is in X's history.
 */
import type { Parameters, Resource } from 'fhir/r4';
import type supertest from 'supertest';
import { choice, observation, practitioner, roleResources } from '../access/builders';
import { get, startTestServer, type TestServer } from '../support/server';

// same length, so that answers about one or the other differ in nothing but the id
const X = 'verified-x1';
const GHOST = 'verified-g1';
const OTHER = 'verified-y1';

type Who = 'X' | 'representative' | 'another patient' | 'practitioner authorized by X' | 'practitioner blocked by X' | 'system client not listed' | 'listed system client' | 'operator';

let server: TestServer;
const tokens = new Map<Who, string>();

beforeAll(async () => {
  server = await startTestServer({ AUDIT_VERIFIERS: ' archive-auditor , auditor' });
  const seeds: Resource[] = [
    { resourceType: 'Patient', id: X, birthDate: '2016-05-01', name: [{ family: 'Vérifiée' }] } as Resource,
    { resourceType: 'Patient', id: OTHER, name: [{ family: 'Autre' }] } as Resource,
    {
      resourceType: 'RelatedPerson',
      id: 'verified-mother',
      patient: { reference: `Patient/${X}` },
      relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }],
    } as Resource,
    ...roleResources(practitioner('p-authorized', ['10'])),
    ...roleResources(practitioner('p-blocked', ['10'])),
    observation('verified-obs', X),
  ];
  for (const resource of seeds) await server.put(resource);
  await server.put(choice('authorize', X, { actors: ['Practitioner/p-authorized'] }), `Patient/${X}`);
  await server.put(choice('block', X, { actors: ['Practitioner/p-blocked'] }), `Patient/${X}`);
  tokens.set('X', await server.patientToken(X));
  tokens.set('representative', await server.token({ fhirUser: 'RelatedPerson/verified-mother', scope: 'patient/*.*' }));
  tokens.set('another patient', await server.patientToken(OTHER));
  tokens.set('practitioner authorized by X', await server.practitionerToken('p-authorized'));
  tokens.set('practitioner blocked by X', await server.practitionerToken('p-blocked'));
  tokens.set('system client not listed', await server.systemToken('insurer', 'system/*.read'));
  tokens.set('listed system client', await server.systemToken('auditor', 'system/*.read'));
  tokens.set('operator', await server.systemToken('ops', 'system/*.*'));
  // X's history is not empty: the authorized practitioner read X's data
  expect((await get(server, 'Observation/verified-obs', tokens.get('practitioner authorized by X') as string)).status).toBe(200);
});
afterAll(() => server.close());

/** Everything the caller receives, the patient's id written ID, less what differs on every request. */
function answer(res: supertest.Response, id: string) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !['date', 'x-request-id'].includes(name)));
  return { status: res.status, headers, body: res.text.split(id).join('ID') };
}

async function storedEventsOfX(): Promise<number> {
  const { rows } = await server.carnet.sql.query<{ n: string }>('SELECT count(*) AS n FROM audit_events WHERE patient_id = ?', [X]);
  return Number(rows[0].n);
}

describe('who verifies X\'s activity history', () => {
  it.each<[Who, boolean]>([
    ['X', true],
    ['representative', true],
    ['listed system client', true],
    ['another patient', false],
    ['practitioner authorized by X', false],
    ['practitioner blocked by X', false],
    ['system client not listed', false],
    ['operator', false],
  ])('%s: verifies X = %s; otherwise X is answered exactly as a patient that does not exist', async (who, verifies) => {
    const token = tokens.get(who) as string;
    const before = await storedEventsOfX();
    const ofX = await get(server, `Patient/${X}/$verify-audit`, token);
    const audited = (await storedEventsOfX()) - before;
    const ofGhost = await get(server, `Patient/${GHOST}/$verify-audit`, token);
    expect(ofGhost.status).toBe(404);
    expect(ofGhost.body.issue[0].diagnostics).toBe(`Patient/${GHOST} is not known`);
    expect(audited).toBe(who === 'X' ? 0 : 1); // an attempt on X's chain by anyone but X is in X's history
    if (verifies) {
      expect(ofX.status).toBe(200);
      const parameters = ofX.body as Parameters;
      expect(parameters.parameter?.[0]).toEqual({ name: 'result', valueBoolean: true });
      expect(parameters.parameter?.find((p) => p.name === 'events')?.valueInteger).toBe(before);
    } else {
      expect(answer(ofX, X)).toEqual(answer(ofGhost, GHOST));
    }
  });

  it('a listed client without the AuditEvent scope: the same 403 for X and for a patient that does not exist', async () => {
    const token = await server.systemToken('auditor', 'system/Patient.read');
    const [ofX, ofGhost] = [await get(server, `Patient/${X}/$verify-audit`, token), await get(server, `Patient/${GHOST}/$verify-audit`, token)];
    expect(ofX.status).toBe(403);
    expect(answer(ofX, X)).toEqual(answer(ofGhost, GHOST));
  });
});
