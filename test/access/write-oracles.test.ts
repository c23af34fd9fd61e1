/**
 * Writes that must not tell whether a resource exists (CONTRACT §2, §4.3):
 * - PUT of patient data (Patient, its compartment, DocumentReference, Binary)
 *   to an id that does not exist answers exactly what a PUT to an id the
 *   caller may not see answers — status, OperationOutcome, headers, audit —
 *   with or without If-Match, as a batch or a transaction entry, for every
 *   caller kind; the directory and shared reference data keep create-on-update;
 * - a submission names a Patient that exists and whose space is open: a
 *   Patient that does not exist and a deleted one get the same 422, and where
 *   the rules refuse the caller, they refuse alike whether the Patient exists.
 */
import type { Resource } from 'fhir/r4';
import { binary, documentReference, observation, practitioner, roleResources } from './builders';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';

const X = 'px-o';
const HOSPITAL = 'client:hospital-o';

const bodies: Record<string, (id: string) => Resource> = {
  Patient: (id) => ({ resourceType: 'Patient', id, name: [{ family: 'Oracle' }] }) as Resource,
  Observation: (id) => observation(id, X),
  DocumentReference: (id) => documentReference(id, X),
  Binary: (id) => binary(id, `Patient/${X}`),
  Organization: (id) => ({ resourceType: 'Organization', id, name: 'Clinique' }) as Resource,
  Location: (id) => ({ resourceType: 'Location', id, name: 'Salle 1' }) as Resource,
};
const PATIENT_DATA = ['Patient', 'Observation', 'DocumentReference', 'Binary'];
/** An existing row of X (created by the hospital) and a deleted one, per type. */
const existing = (type: string) => (type === 'Patient' ? X : `${type.toLowerCase()}-o`);
const deleted = (type: string) => `${type.toLowerCase()}-deleted-o`;

type Form = 'plain' | 'If-Match' | 'batch entry' | 'transaction entry';
const FORMS: Form[] = ['plain', 'If-Match', 'batch entry', 'transaction entry'];

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  audited: number;
}

describe('write oracles', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const auditedAboutX = async () => Number((await server.carnet.sql.query<{ n: string }>('SELECT count(*) AS n FROM audit_events WHERE patient_id = ?', [X])).rows[0].n);

  /** The whole answer to a PUT of `Type/id` in `form`, the ids named in it written as `<id>`. */
  async function putAnswer(who: string, type: string, id: string, form: Form, resource: Resource = bodies[type](id)): Promise<Answer> {
    const before = await auditedAboutX();
    let req;
    if (form === 'plain' || form === 'If-Match') {
      req = server.request.put(`/fhir/${type}/${id}`);
      if (form === 'If-Match') req = req.set('If-Match', 'W/"1"');
    } else {
      req = server.request.post('/fhir');
      resource = { resourceType: 'Bundle', type: form === 'batch entry' ? 'batch' : 'transaction', entry: [{ request: { method: 'PUT', url: `${type}/${id}` }, resource }] } as Resource;
    }
    const res = await req.set('Authorization', `Bearer ${tokens[who]}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(resource));
    const headers = Object.fromEntries(Object.entries(res.headers as Record<string, string>).filter(([name]) => !['date', 'x-request-id', 'content-length'].includes(name)));
    const body = JSON.parse(JSON.stringify(res.body).split(id).join('<id>')) as unknown;
    return { status: res.status, headers, body, audited: (await auditedAboutX()) - before };
  }

  beforeAll(async () => {
    server = await startTestServer();
    const stranger = practitioner('stranger-o', ['10']);
    for (const role of roleResources(stranger)) await server.put(role);
    await server.put(bodies.Patient(X), HOSPITAL);
    await server.put({ resourceType: 'Patient', id: 'py-o', name: [{ family: 'Autre' }] } as Resource, HOSPITAL);
    for (const type of PATIENT_DATA.filter((t) => t !== 'Patient')) await server.put(bodies[type](existing(type)), HOSPITAL);
    for (const type of PATIENT_DATA) {
      await server.put(bodies[type](deleted(type)), HOSPITAL);
      await server.remove(type, deleted(type));
    }
    for (const type of ['Organization', 'Location']) await server.put(bodies[type](existing(type)), 'client:directory-o');
    tokens.hospital = await server.systemToken('hospital-o', 'system/*.cruds');
    tokens.practitioner = await server.practitionerToken('stranger-o');
    tokens.system = await server.systemToken('lab-o', 'system/*.cruds');
    tokens.patient = await server.patientToken('py-o');
  });
  afterAll(() => server.close());

  describe('PUT of patient data: a hidden id, a deleted hidden one and a free one get one answer', () => {
    const cases = ['practitioner', 'system', 'patient'].flatMap((who) => PATIENT_DATA.flatMap((type) => FORMS.map((form) => [who, type, form] as const)));
    let free = 0;
    /**
     * The audit too, with one exception the contract makes (§6: refused attempts on X's data are
     * audited): a PUT of Patient/X itself is an attempt on X's record, audited about X — in X's
     * history, which only X and X's representatives read — while Patient/<free id> names nobody.
     */
    const sameAnswer = (type: string, answer: Answer) => (type === 'Patient' ? { ...answer, audited: expect.any(Number) } : answer);
    it.each(cases)('%s, %s, %s', async (who, type, form) => {
      const hidden = await putAnswer(who, type, existing(type), form);
      expect(hidden.status).toBe(form === 'batch entry' ? 200 : 404);
      if (type === 'Patient') expect(hidden.audited).toBe(1);
      expect(await putAnswer(who, type, `free-${++free}`, form)).toEqual(sameAnswer(type, hidden));
      expect(await putAnswer(who, type, deleted(type), form)).toEqual(sameAnswer(type, hidden));
    });
  });

  describe('what the caller may see', () => {
    let fresh = 0;
    const visible: Array<[string, string, number]> = PATIENT_DATA.flatMap((type) => [
      [type, 'existing', 200],
      [type, 'deleted', 201],
      [type, 'free', 404],
    ] as Array<[string, string, number]>);
    const shared: Array<[string, string, number]> = ['Organization', 'Location'].flatMap((type) => [
      [type, 'existing', 200],
      [type, 'free', 201],
    ] as Array<[string, string, number]>);
    it.each([...visible, ...shared])('the hospital PUTs %s, %s → %i', async (type, state, status) => {
      const id = `${state}-visible-${++fresh}`;
      if (state !== 'free') await server.put(bodies[type](id), HOSPITAL);
      if (state === 'deleted') await server.remove(type, id);
      expect((await putAnswer('hospital', type, id, 'plain')).status).toBe(status);
    });

    it.each(['Organization', 'Location'])('a practitioner PUTs %s: 403 alike for an existing and a free id', async (type) => {
      const taken = await putAnswer('practitioner', type, existing(type), 'plain');
      expect(taken.status).toBe(403);
      expect(await putAnswer('practitioner', type, `free-shared-${type}`, 'plain')).toEqual(taken);
    });

    it.each(['plain', 'transaction entry'] as const)('a conditional PUT of patient data matching nothing, without an id, creates under a server id (%s)', async (form) => {
      const { id: _none, ...body } = observation('unused', X) as Resource & { id?: string };
      const url = 'Observation?code:text=nothing-matches-this';
      const res =
        form === 'plain'
          ? await server.request.put(`/fhir/${url}`).set('Authorization', `Bearer ${tokens.hospital}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body))
          : await server.request
              .post('/fhir')
              .set('Authorization', `Bearer ${tokens.hospital}`)
              .set('Content-Type', FHIR_JSON)
              .send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'PUT', url }, resource: body }] }));
      expect(res.status).toBe(form === 'plain' ? 201 : 200);
      const location: string = form === 'plain' ? res.headers.location : res.body.entry[0].response.location;
      expect(location).toMatch(/Observation\/[0-9a-f-]{36}\/_history\/1$/);
    });
  });

  describe('submissions name a Patient that exists, with an open space', () => {
    const submit = async (who: string, resource: Resource, patientId: string, headers: Record<string, string> = {}) => {
      const { id: _none, ...body } = JSON.parse(JSON.stringify(resource).split(`Patient/${X}`).join(`Patient/${patientId}`)) as Resource & { id?: string };
      let req = server.request.post(`/fhir/${resource.resourceType}`).set('Authorization', `Bearer ${tokens[who]}`).set('Content-Type', FHIR_JSON);
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      const res = await req.send(JSON.stringify(body));
      return { status: res.status, body: JSON.parse(JSON.stringify(res.body).split(patientId).join('<patient>')) as unknown };
    };
    const emergency = { 'X-Purpose-Of-Use': 'ETREAT' };

    it.each([
      ['practitioner', 'DocumentReference', 'DocumentReference.subject'],
      ['system', 'DocumentReference', 'DocumentReference.subject'],
      ['system', 'Observation', 'Observation.subject'],
      ['hospital', 'Observation', 'Observation.subject'],
    ])('%s submits a %s: a Patient that does not exist and a deleted one get the same 422 (%s); an existing one takes it', async (who, type, expression) => {
      const resource = bodies[type]('unused');
      const missing = await submit(who, resource, 'nobody-o');
      expect(missing.status).toBe(422);
      expect((missing.body as { issue: Array<{ expression: string[] }> }).issue[0].expression).toEqual([expression]);
      expect(await submit(who, resource, deleted('Patient'))).toEqual(missing);
      expect((await submit(who, resource, X)).status).toBe(201);
    });

    it.each([
      ['an unauthorized practitioner, health data', 'Observation', {}],
      ['a practitioner in ETREAT without the samu-regulator role, a document', 'DocumentReference', emergency],
      ['a practitioner in ETREAT without the samu-regulator role, health data', 'Observation', emergency],
    ] as Array<[string, string, Record<string, string>]>)('%s: refused alike (403) for an existing Patient and one that does not exist', async (_what, type, headers) => {
      const resource = bodies[type]('unused');
      const hidden = await submit('practitioner', resource, X, headers);
      expect(hidden.status).toBe(403);
      expect(await submit('practitioner', resource, 'nobody-o', headers)).toEqual(hidden);
    });
  });
});
