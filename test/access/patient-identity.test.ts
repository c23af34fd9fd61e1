/**
 * Resolving a patient by INS-NIR (CONTRACT §3 "Patient identity (INS)"):
 * hospital A created Patient X; who else may find X by its NIR, through each
 * way a NIR names a patient, and what they are answered. A resolver (a system
 * client within Patient read scopes, a practitioner with an active role) gets
 * X's identity only — id, identifier, name, birthDate, gender, tagged
 * SUBSETTED — audited about X; a practitioner X blocks gets 403; everyone
 * else gets exactly the answer of a NIR no Patient holds, and no event about X.
 *
 * Without the resolution (the access rules alone), every "resolves" row
 * answers as its "unknown" twin (empty search, 412, a second Patient 201).
 */
import type { Bundle, BundleEntry, Patient, Resource } from 'fhir/r4';
import { choice, documentReference, roleResources, practitioner } from './builders';
import { FHIR_JSON, get, send, startTestServer, type TestServer } from '../support/server';
import { postBundle } from '../bundle/fixtures';

const INS = 'urn:oid:1.2.250.1.213.1.4.8';
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const X_NIR = '180017512345678';

type Who = 'system with Patient.read' | 'system with only Observation.write' | 'practitioner with a role' | 'practitioner X blocks' | 'practitioner without role' | 'another patient';
type Path = 'search' | 'conditional reference in a create' | 'conditional reference in a transaction' | 'If-None-Exist';
type Nir = 'existing' | 'unknown';
/** What the answer is: X's identity subset, or the caller's own answer for a NIR nobody holds. */
type Served = 'identity' | 'nothing' | 'created' | 'linked';
/** The AuditEvent about X the request leaves: a read (outcome 0), a refusal (outcome 4), or none. */
type Audit = 'read' | 'refused' | 'none';

const WHO: Who[] = ['system with Patient.read', 'system with only Observation.write', 'practitioner with a role', 'practitioner X blocks', 'practitioner without role', 'another patient'];

/** [status, served, audit] for each caller × path × NIR. */
const EXPECTED: Record<Who, Record<Path, Record<Nir, [number, Served, Audit]>>> = {
  'system with Patient.read': {
    search: { existing: [200, 'identity', 'read'], unknown: [200, 'nothing', 'none'] },
    'conditional reference in a create': { existing: [201, 'linked', 'read'], unknown: [412, 'nothing', 'none'] },
    'conditional reference in a transaction': { existing: [200, 'linked', 'read'], unknown: [412, 'nothing', 'none'] },
    'If-None-Exist': { existing: [200, 'identity', 'read'], unknown: [201, 'created', 'none'] },
  },
  'system with only Observation.write': {
    search: { existing: [403, 'nothing', 'none'], unknown: [403, 'nothing', 'none'] },
    'conditional reference in a create': { existing: [412, 'nothing', 'none'], unknown: [412, 'nothing', 'none'] },
    'conditional reference in a transaction': { existing: [412, 'nothing', 'none'], unknown: [412, 'nothing', 'none'] },
    'If-None-Exist': { existing: [403, 'nothing', 'none'], unknown: [403, 'nothing', 'none'] },
  },
  'practitioner with a role': {
    search: { existing: [200, 'identity', 'read'], unknown: [200, 'nothing', 'none'] },
    'conditional reference in a create': { existing: [201, 'linked', 'read'], unknown: [412, 'nothing', 'none'] },
    'conditional reference in a transaction': { existing: [200, 'linked', 'read'], unknown: [412, 'nothing', 'none'] },
    // practitioners never write Patients: refused before anything is matched, whichever the NIR
    'If-None-Exist': { existing: [403, 'nothing', 'none'], unknown: [403, 'nothing', 'none'] },
  },
  'practitioner X blocks': {
    search: { existing: [403, 'nothing', 'refused'], unknown: [200, 'nothing', 'none'] },
    'conditional reference in a create': { existing: [403, 'nothing', 'refused'], unknown: [412, 'nothing', 'none'] },
    'conditional reference in a transaction': { existing: [403, 'nothing', 'refused'], unknown: [412, 'nothing', 'none'] },
    'If-None-Exist': { existing: [403, 'nothing', 'none'], unknown: [403, 'nothing', 'none'] },
  },
  'practitioner without role': {
    search: { existing: [200, 'nothing', 'none'], unknown: [200, 'nothing', 'none'] },
    'conditional reference in a create': { existing: [412, 'nothing', 'none'], unknown: [412, 'nothing', 'none'] },
    'conditional reference in a transaction': { existing: [412, 'nothing', 'none'], unknown: [412, 'nothing', 'none'] },
    'If-None-Exist': { existing: [403, 'nothing', 'none'], unknown: [403, 'nothing', 'none'] },
  },
  'another patient': {
    search: { existing: [200, 'nothing', 'none'], unknown: [200, 'nothing', 'none'] },
    'conditional reference in a create': { existing: [412, 'nothing', 'none'], unknown: [412, 'nothing', 'none'] },
    'conditional reference in a transaction': { existing: [412, 'nothing', 'none'], unknown: [412, 'nothing', 'none'] },
    'If-None-Exist': { existing: [403, 'nothing', 'none'], unknown: [403, 'nothing', 'none'] },
  },
};

const CASES: [Who, Path, Nir, number, Served, Audit][] = WHO.flatMap((who) =>
  (Object.keys(EXPECTED[who]) as Path[]).flatMap((path) => (['existing', 'unknown'] as Nir[]).map((nir): [Who, Path, Nir, number, Served, Audit] => [who, path, nir, ...EXPECTED[who][path][nir]])),
);

let unknownCounter = 0;
/** A NIR no Patient holds (a fresh one per case: an If-None-Exist that creates claims it). */
const unknownNir = () => `2990175${String(++unknownCounter).padStart(8, '0')}`;

const patientWith = (nir: string, family: string): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: INS, value: nir }],
  name: [{ family, given: ['Jeanne'] }],
  birthDate: '1980-01-17',
  gender: 'female',
});

describe('resolving a patient by INS-NIR (CONTRACT §3)', () => {
  let server: TestServer;
  let x: string;
  const tokens = {} as Record<Who, string>;
  /** The Patient X as hospital A stored it: with what must never be served to a resolver. */
  const stored: Patient = {
    ...patientWith(X_NIR, 'Lefèvre'),
    telecom: [{ system: 'email', value: 'jeanne@example.org' }],
    address: [{ city: 'Lyon' }],
    identifier: [{ system: INS, value: X_NIR }, { system: 'urn:oid:1.2.250.1.71.4.2.7', value: 'IPP-A-42' }],
  };

  beforeAll(async () => {
    server = await startTestServer();
    x = (await server.put({ ...stored, id: 'ins-x' } as Resource, 'client:hospital-a')).id;
    await server.put({ resourceType: 'Patient', id: 'ins-y', identifier: [{ system: INS, value: '290017512300011' }] } as Resource, 'client:hospital-a');
    for (const id of ['ins-p1', 'ins-p2']) for (const role of roleResources(practitioner(id, ['10']))) await server.put(role);
    await server.put(choice('block', x, { actors: ['Practitioner/ins-p2'] }));
    tokens['system with Patient.read'] = await server.systemToken('hospital-b', 'system/Patient.crs system/Observation.c');
    tokens['system with only Observation.write'] = await server.systemToken('lab', 'system/Observation.write');
    tokens['practitioner with a role'] = await server.practitionerToken('ins-p1');
    tokens['practitioner X blocks'] = await server.practitionerToken('ins-p2');
    tokens['practitioner without role'] = await server.practitionerToken('ins-p3');
    tokens['another patient'] = await server.patientToken('ins-y');
  });
  afterAll(() => server.close());

  /** What each caller creates with a conditional subject: a practitioner a document it authors, anyone else an Observation. */
  const linkedResource = (who: Who, subject: string): Resource => {
    if (who.startsWith('practitioner')) {
      const id = `ins-p${who === 'practitioner with a role' ? 1 : who === 'practitioner X blocks' ? 2 : 3}`;
      const { id: _id, ...document } = documentReference('unused', 'unused', { authors: [`Practitioner/${id}`] });
      return { ...document, subject: { reference: subject } } as Resource;
    }
    return { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: subject } } as Resource;
  };

  const run = (who: Who, path: Path, nir: string) => {
    const token = tokens[who];
    const reference = `Patient?identifier=${INS}|${nir}`;
    switch (path) {
      case 'search':
        return get(server, `Patient?identifier=${encodeURIComponent(`${INS}|${nir}`)}`, token);
      case 'conditional reference in a create': {
        const resource = linkedResource(who, reference);
        return send(server, 'post', resource.resourceType, token, resource);
      }
      case 'conditional reference in a transaction': {
        const resource = linkedResource(who, reference);
        const entry: BundleEntry = { fullUrl: 'urn:uuid:5b0c8a4e-0000-4000-8000-000000000001', resource, request: { method: 'POST', url: resource.resourceType } };
        return postBundle(server, token, { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
      }
      case 'If-None-Exist':
        return server.request
          .post('/fhir/Patient')
          .set('Authorization', `Bearer ${token}`)
          .set('Content-Type', FHIR_JSON)
          .set('If-None-Exist', `identifier=${INS}|${nir}`)
          .send(JSON.stringify(patientWith(nir, 'Durand')));
    }
  };

  /** X's identity as a resolver is served it: nothing else of X (no telecom, address, versions). */
  const identity = (): Patient => ({
    resourceType: 'Patient',
    id: x,
    meta: { tag: [SUBSETTED] },
    identifier: stored.identifier,
    name: stored.name,
    birthDate: stored.birthDate,
    gender: stored.gender,
  });

  const eventsAboutX = async (after: number) =>
    (await server.carnet.sql.query<{ outcome: number; content: string }>('SELECT outcome, content FROM audit_events WHERE patient_id = ? AND seq > ? ORDER BY seq', [x, after])).rows;
  const lastSeq = async () => Number((await server.carnet.sql.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM audit_events')).rows[0].seq ?? 0);

  it.each(CASES)('%s, %s, NIR %s → %i, %s, audit %s', async (who, path, nirKind, status, served, audit) => {
    const nir = nirKind === 'existing' ? X_NIR : unknownNir();
    const before = await lastSeq();

    const res = await run(who, path, nir);

    expect([res.status, res.status === status ? '' : JSON.stringify(res.body).slice(0, 400)]).toEqual([status, '']);
    const body = res.body as Resource;
    switch (served) {
      case 'identity': {
        const patient = path === 'search' ? ((body as Bundle).entry ?? []).map((entry) => entry.resource) : [body];
        expect(patient).toEqual([identity()]);
        if (path === 'search') expect((body as Bundle).total).toBe(1);
        if (path === 'If-None-Exist') expect([res.headers.etag, res.headers['last-modified']]).toEqual([undefined, undefined]);
        break;
      }
      case 'linked': {
        const created = path === 'conditional reference in a transaction' ? (body as Bundle).entry?.[0]?.response : undefined;
        if (created) expect(created.status).toMatch(/^201/);
        const location = created?.location ?? (res.headers.location as string);
        const id = /\/([^/]+)\/_history\//.exec(location)?.[1] as string;
        const row = await server.carnet.sql.query<{ patient_id: string; content: { subject: { reference: string } } }>('SELECT patient_id, content FROM resources WHERE id = ?', [id]);
        expect([row.rows[0].patient_id, row.rows[0].content.subject.reference]).toEqual([x, `Patient/${x}`]);
        break;
      }
      case 'created':
        expect([(body as Patient).id === x, (body as Patient).meta?.tag]).toEqual([false, undefined]);
        break;
      case 'nothing':
        if (status === 200) expect([(body as Bundle).total, (body as Bundle).entry]).toEqual([0, undefined]);
        break;
    }
    const events = await eventsAboutX(before);
    const expectedOutcomes = { read: [0], refused: [4], none: [] }[audit];
    expect([...new Set(events.map((event) => event.outcome))]).toEqual(expectedOutcomes);
    for (const event of events) {
      const content = (typeof event.content === 'string' ? JSON.parse(event.content) : event.content) as { entity: { what?: { reference?: string } }[] };
      expect(content.entity.map((entity) => entity.what?.reference)).toContainEqual(expect.stringMatching(new RegExp(`^Patient/${x}(/_history/\\d+)?$`)));
    }
  });

  it.each([
    ['GET Patient/X by id', (token: string) => get(server, `Patient/${x}`, token)],
    ['a search on the NIR with another parameter', (token: string) => get(server, `Patient?identifier=${encodeURIComponent(`${INS}|${X_NIR}`)}&gender=female`, token)],
    ['a search on the family name', (token: string) => get(server, 'Patient?family=Lef%C3%A8vre', token)],
    ['a search on the NIR without its system', (token: string) => get(server, `Patient?identifier=${X_NIR}`, token)],
  ])('anything more of X keeps the access rules: %s by hospital B', async (_name, request) => {
    const res = await request(tokens['system with Patient.read']);
    expect(res.status).toBe(res.body.resourceType === 'Bundle' ? 200 : 404);
    if (res.body.resourceType === 'Bundle') expect([(res.body as Bundle).total, (res.body as Bundle).entry]).toEqual([0, undefined]);
  });

  it.each([
    ['TREAT, not authorized by X: the identity', {}, 200, 'identity'],
    ['BTG, which X does not deny: X whole, as the access rules let them read it', { 'X-Purpose-Of-Use': 'BTG', 'X-Break-Glass-Reason': 'inconscient' }, 200, 'whole'],
    ['ETREAT without the samu-regulator role (step 2 refuses)', { 'X-Purpose-Of-Use': 'ETREAT' }, 403, 'nothing'],
  ])('a practitioner with a role searching the NIR in %s (%j) → %i', async (_name, headers: Record<string, string>, status, served) => {
    const res = await get(server, `Patient?identifier=${encodeURIComponent(`${INS}|${X_NIR}`)}`, tokens['practitioner with a role']).set(headers);
    expect(res.status).toBe(status);
    const entries = ((res.body as Bundle).entry ?? []).map((entry) => entry.resource as Patient);
    if (served === 'identity') expect(entries).toEqual([identity()]);
    if (served === 'whole') expect(entries.map((patient) => [patient.id, patient.telecom, patient.meta?.tag])).toEqual([[x, stored.telecom, undefined]]);
  });

  it.each([
    ['hospital A, which created X', () => server.systemToken('hospital-a', 'system/Patient.rs')],
    ['X themself', () => server.patientToken(x)],
  ])('%s: served X whole by the same search, as the access rules let them read it', async (_name, token) => {
    const res = await get(server, `Patient?identifier=${encodeURIComponent(`${INS}|${X_NIR}`)}`, await token());
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry?.map((entry) => [(entry.resource as Patient).telecom, (entry.resource as Patient).meta?.tag])).toEqual([[stored.telecom, undefined]]);
  });

  it('in a transaction, the conditional reference names the Patient an earlier entry creates with that NIR', async () => {
    const nir = unknownNir();
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5b0c8a4e-0000-4000-8000-000000000003', resource: patientWith(nir, 'Nouvelle'), request: { method: 'POST', url: 'Patient' } },
        { fullUrl: 'urn:uuid:5b0c8a4e-0000-4000-8000-000000000002', resource: { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient?identifier=${INS}|${nir}` } } as Resource, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const res = await postBundle(server, tokens['system with Patient.read'], bundle);
    expect([res.status, res.status === 200 ? '' : JSON.stringify(res.body).slice(0, 400)]).toEqual([200, '']);
    const [patient, observation] = (res.body as Bundle).entry?.map((entry) => /(?:Observation|Patient)\/([^/]+)\/_history/.exec(entry.response?.location ?? '')?.[1]) ?? [];
    const row = await server.carnet.sql.query<{ patient_id: string }>(`SELECT patient_id FROM resources WHERE resource_type = 'Observation' AND id = ?`, [observation ?? '']);
    expect(row.rows[0].patient_id).toBe(patient);
  });
});
