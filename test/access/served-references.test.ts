/**
 * CONTRACT §4.3 step 7: in every resource served, a reference to a local
 * resource the reader may not see is removed, as if that resource did not
 * exist. Reference-bearing resources × targets × the paths that serve them,
 * for an authorized nurse and for the patient: the copy served for a hidden
 * target is the copy served for a target that does not exist (the bearer
 * built without the reference), and the references the reader may follow
 * stay. Plus the IHE MHD SubmissionSet, and the cost (one query per
 * response, none without references to hideable types, none for a read
 * whose only such reference is its own patient).
 */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import type supertest from 'supertest';
import { A07, choice, documentReference, observation, patientResource, practitioner, roleResources } from './builders';
import { BASE, FHIR_JSON, startTestServer, type TestServer } from '../support/server';
import { postBundle, readFixture } from '../bundle/fixtures';

const X = 'Patient/sr-x';
const FIXTURE_PATIENT = 'urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00111100004';
const ALLOWED_TYPE = '11488-4'; // a compte rendu: the infirmier's grid row reads it
const UNLISTED_TYPE = '99999-9'; // a type missing from the grid: médecins only

/** What each target is, and whether the nurse (infirmier authorized by X) and X may follow it. */
const TARGETS: Array<[name: string, reference: string, kept: { nurse: boolean; patient: boolean }]> = [
  ['a visible document', 'DocumentReference/sr-visible', { nurse: true, patient: true }],
  ['the same, absolute on the base', `${BASE}/fhir/DocumentReference/sr-visible`, { nurse: true, patient: true }],
  ['a document hidden by MASQUE_PS', 'DocumentReference/sr-masque', { nurse: false, patient: true }],
  ['the same, versioned', 'DocumentReference/sr-masque/_history/1', { nurse: false, patient: true }],
  ['a document hidden by the grid', 'DocumentReference/sr-grid', { nurse: false, patient: true }],
  ['a document INVISIBLE_PATIENT', 'DocumentReference/sr-invisible', { nurse: true, patient: false }],
  ["another patient's Observation", 'Observation/sr-other', { nurse: false, patient: false }],
  ['a document that does not exist', 'DocumentReference/sr-none', { nurse: false, patient: false }],
  ['a Practitioner that does not exist (the directory is seen whole)', 'Practitioner/sr-ghost', { nurse: true, patient: true }],
  ['a foreign URL', 'http://elsewhere.example.org/fhir/DocumentReference/sr-masque', { nurse: true, patient: true }],
  ['a contained resource', '#c1', { nurse: true, patient: true }],
];

type Build = (reference: string | undefined) => Record<string, unknown>;

/** The contained resource a `#c1` reference names (dom-3: it must be referenced). */
const contained = (reference: string | undefined) => (reference === '#c1' ? { contained: [{ resourceType: 'Basic', id: 'c1', code: { text: 'pièce jointe' } }] } : {});
const ref = (reference: string | undefined) => (reference === undefined ? undefined : { reference });
const code = { text: 'poids' };

/** Each bearer built around one reference; built with none, it is what a reader who may not follow it is served. */
const BEARERS: Array<[element: string, type: string, revinclude: string, build: Build]> = [
  ['List.entry.item', 'List', 'List:subject', (r) => ({ resourceType: 'List', ...contained(r), status: 'current', mode: 'working', subject: { reference: X }, entry: r ? [{ item: ref(r) }] : undefined })],
  ['Provenance.target', 'Provenance', 'Provenance:target', (r) => ({ resourceType: 'Provenance', ...contained(r), target: [{ reference: X }, ...(r ? [ref(r)] : [])], recorded: '2026-11-30T10:00:00Z', agent: [{ who: { reference: 'Practitioner/sr-author' } }] })],
  [
    'DocumentReference.relatesTo.target',
    'DocumentReference',
    'DocumentReference:subject',
    (r) => ({ ...documentReference('', 'sr-x', { type: ALLOWED_TYPE }), id: undefined, ...contained(r), relatesTo: r ? [{ code: 'appends', target: ref(r) }] : undefined }),
  ],
  [
    'Composition.section.entry',
    'Composition',
    'Composition:subject',
    (r) => ({ resourceType: 'Composition', ...contained(r), status: 'final', type: code, subject: { reference: X }, date: '2026-11-30', author: [{ reference: 'Practitioner/sr-author' }], title: 'Synthèse', section: [{ title: 'Documents', ...(r ? { entry: [ref(r)] } : {}) }] }),
  ],
  ['Observation.derivedFrom', 'Observation', 'Observation:subject', (r) => ({ resourceType: 'Observation', ...contained(r), status: 'final', code, subject: { reference: X }, derivedFrom: r ? [ref(r)] : undefined })],
  ['Observation.hasMember', 'Observation', 'Observation:subject', (r) => ({ resourceType: 'Observation', ...contained(r), status: 'final', code, subject: { reference: X }, hasMember: r ? [ref(r)] : undefined })],
  [
    'an extension valueReference',
    'Observation',
    'Observation:subject',
    (r) => ({ resourceType: 'Observation', ...contained(r), status: 'final', code, subject: { reference: X }, extension: r ? [{ url: 'https://carnet.example.org/fhir/StructureDefinition/test-source', valueReference: ref(r) }] : undefined }),
  ],
];

const bearerId = (element: string, target: number) => `sr-${element.replace(/[^A-Za-z]+/g, '-').toLowerCase()}-${target}`.slice(0, 64);

/** A resource as the test compares it: without id and meta (they differ from bearer to bearer by construction). */
function shape(resource: unknown): Record<string, unknown> {
  const { id: _id, meta: _meta, ...rest } = resource as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

type Reader = 'nurse' | 'patient';
type Path = (server: TestServer, token: string, type: string, ids: string[], revinclude: string) => Promise<Map<string, Resource>>;

const byId = (resources: Resource[]) => new Map(resources.map((resource) => [resource.id as string, resource]));
const entriesOf = (bundle: Bundle) => (bundle.entry ?? []).flatMap((entry: BundleEntry) => (entry.resource ? [entry.resource] : []));

async function ok(req: supertest.Test): Promise<supertest.Response> {
  const res = await req;
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  return res;
}

const each = async (ids: string[], fetch: (id: string) => Promise<Resource>) => byId(await Promise.all(ids.map(fetch)));
const get = (server: TestServer, token: string, url: string) => ok(server.request.get(`/fhir/${url}`).set('Authorization', `Bearer ${token}`));

const PATHS: Array<[name: string, path: Path]> = [
  ['read', (s, t, type, ids) => each(ids, async (id) => (await get(s, t, `${type}/${id}`)).body)],
  ['vread', (s, t, type, ids) => each(ids, async (id) => (await get(s, t, `${type}/${id}/_history/1`)).body)],
  ['instance history', (s, t, type, ids) => each(ids, async (id) => (await get(s, t, `${type}/${id}/_history`)).body.entry[0].resource)],
  ['type history', async (s, t, type, ids) => byId(entriesOf((await get(s, t, `${type}/_history?_count=1000`)).body).filter((r) => ids.includes(r.id as string)))],
  ['system history', async (s, t, _type, ids) => byId(entriesOf((await get(s, t, '_history?_count=1000')).body).filter((r) => ids.includes(r.id as string)))],
  ['search', async (s, t, type, ids) => byId(entriesOf((await get(s, t, `${type}?_id=${ids.join(',')}&_count=100`)).body))],
  ['_revinclude', async (s, t, type, ids, revinclude) => byId(entriesOf((await get(s, t, `Patient?_id=sr-x&_revinclude=${revinclude}&_count=1`)).body).filter((r) => r.resourceType === type && ids.includes(r.id as string)))],
  ['$everything', async (s, t, type, ids) => byId(entriesOf((await get(s, t, `Patient/sr-x/$everything?_type=${type}&_count=1000`)).body).filter((r) => ids.includes(r.id as string)))],
  [
    'transaction response',
    async (s, t, type, ids) => {
      const bundle = { resourceType: 'Bundle', type: 'transaction', entry: ids.map((id) => ({ request: { method: 'GET', url: `${type}/${id}` } })) };
      const res = await postBundle(s, t, bundle);
      if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      return byId(entriesOf(res.body as Bundle));
    },
  ],
];

describe('references inside served resources (CONTRACT §4.3 step 7)', () => {
  let server: TestServer;
  const tokens = {} as Record<Reader, string>;
  const statements: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    const nurse = practitioner('sr-nurse', ['60']);
    const seeds: Array<[Resource, string?]> = [
      [patientResource('sr-x')],
      [patientResource('sr-y')],
      [{ resourceType: 'Practitioner', id: 'sr-nurse' } as Resource],
      [{ resourceType: 'Practitioner', id: 'sr-author' } as Resource],
      ...roleResources(nurse).map((role): [Resource] => [role]),
      [choice('authorize', 'sr-x', { actors: ['Practitioner/sr-nurse'] })],
      [documentReference('sr-visible', 'sr-x', { type: ALLOWED_TYPE }), 'Practitioner/sr-author'],
      [documentReference('sr-masque', 'sr-x', { type: ALLOWED_TYPE, labels: ['MASQUE_PS'] }), 'Practitioner/sr-author'],
      [documentReference('sr-grid', 'sr-x', { type: UNLISTED_TYPE }), 'Practitioner/sr-author'],
      [documentReference('sr-invisible', 'sr-x', { type: ALLOWED_TYPE, labels: ['INVISIBLE_PATIENT'] }), 'Practitioner/sr-author'],
      [observation('sr-other', 'sr-y')],
      ...roleResources(practitioner('sr-author', ['10'])).map((role): [Resource] => [role]),
      [observation('sr-lab-obs', 'sr-x'), 'client:sr-lab2'],
    ];
    for (const [element] of BEARERS) {
      const build = BEARERS.find(([name]) => name === element)?.[3] as Build;
      TARGETS.forEach(([, reference], index) => seeds.push([{ ...build(reference), id: bearerId(element, index) } as Resource]));
    }
    for (const [resource, by] of seeds) await server.put(resource, by);
    tokens.nurse = await server.practitionerToken('sr-nurse');
    tokens.patient = await server.patientToken('sr-x');
    server.carnet.db.on('query', (query: { sql: string }) => statements.push(query.sql));
  });
  afterAll(() => server.close());

  const cases = (['nurse', 'patient'] as const).flatMap((reader) => BEARERS.flatMap(([element, type, revinclude, build]) => PATHS.map(([name, path]) => [reader, element, name, type, revinclude, build, path] as const)));

  it.each(cases)('%s, %s, %s: hidden is served as absent, the rest stays', async (reader, element, _path, type, revinclude, build, path) => {
    const ids = TARGETS.map((_, index) => bearerId(element, index));
    const served = await path(server, tokens[reader], type, ids, revinclude);
    const absent = shape(served.get(bearerId(element, TARGETS.findIndex(([name]) => name === 'a document that does not exist'))));
    expect(absent).toEqual(shape(build(undefined)));
    TARGETS.forEach(([name, reference, kept], index) => {
      const copy = served.get(bearerId(element, index));
      expect({ name, copy: shape(copy) }).toEqual({ name, copy: kept[reader] ? shape(build(reference)) : absent });
    });
  });

  it.each([
    ['its author, whom X did not authorize', 'DocumentReference/sr-masque', () => server.practitionerToken('sr-author')],
    ['the system client that created it, not X', 'Observation/sr-lab-obs', () => server.systemToken('sr-lab2', 'system/*.*')],
  ])('%s, is served %s without the reference to the patient it may not see', async (_reader, key, token) => {
    const res = await get(server, await token(), key);
    expect([res.body.id, res.body.subject]).toEqual([key.split('/')[1], undefined]);
  });

  it('a resource with no reference to a hideable type costs no query; a read or a create whose only one is its own patient neither (its own statement answers it); a page of many costs one', async () => {
    const watch = async (work: () => Promise<unknown>) => {
      statements.length = 0;
      await work();
      return statements.filter((sql) => sql.includes('(r.resource_type, r.id) IN (SELECT * FROM unnest')).length;
    };
    expect(await watch(() => get(server, tokens.nurse, 'Practitioner/sr-author'))).toBe(0); // no reference at all
    expect(await watch(() => get(server, tokens.nurse, 'PractitionerRole/sr-nurse-role0'))).toBe(0); // the directory only
    expect(await watch(() => get(server, tokens.nurse, 'DocumentReference/sr-visible'))).toBe(0); // subject: Patient/sr-x, seen
    expect(await watch(async () => expect((await get(server, await server.systemToken('sr-lab2', 'system/*.*'), 'Observation/sr-lab-obs')).body.subject).toBeUndefined())).toBe(0); // subject: hidden
    const lab = await server.systemToken('sr-lab2', 'system/*.*');
    const created = async () => {
      const res = await server.request.post('/fhir/Observation').set('Authorization', `Bearer ${lab}`).set('Content-Type', FHIR_JSON).set('Prefer', 'return=representation').send(JSON.stringify({ ...observation('sr-created', 'sr-x'), id: undefined }));
      expect([res.status, res.body.subject]).toEqual([201, undefined]); // the lab's create names a patient it may not see: served without
    };
    expect(await watch(created)).toBe(0); // answered by the create's own statement
    expect(await watch(() => get(server, tokens.nurse, `List/${bearerId('List.entry.item', 0)}`))).toBe(1);
    expect(await watch(() => get(server, tokens.nurse, `Observation?subject=${X}&_count=100`))).toBe(1);
    expect(await watch(() => postBundle(server, tokens.nurse, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'List?subject=Patient/sr-x' } }, { request: { method: 'GET', url: 'Observation?subject=Patient/sr-x' } }] }))).toBe(1);
  });

  it('a create answered with return=representation, alone or in a transaction, and a conditional create answered with the existing resource serve the references the writer may follow only', async () => {
    const references = ['DocumentReference/sr-visible', 'DocumentReference/sr-masque', 'DocumentReference/sr-none', 'Practitioner/sr-ghost'];
    const list = { resourceType: 'List', status: 'current', mode: 'working', subject: { reference: X }, entry: references.map((reference) => ({ item: { reference } })) };
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'List' }, resource: list }] };
    const transaction = await postBundle(server, tokens.nurse, bundle, 'return=representation');
    expect(transaction.status).toBe(200);
    const alone = await server.request.post('/fhir/List').set('Authorization', `Bearer ${tokens.nurse}`).set('Content-Type', FHIR_JSON).set('Prefer', 'return=representation').send(JSON.stringify(list));
    expect(alone.status).toBe(201);
    const items = (resource: { entry?: { item: { reference: string } }[] }) => (resource.entry ?? []).map((entry) => entry.item.reference);
    expect(items(transaction.body.entry[0].resource)).toEqual(['DocumentReference/sr-visible', 'Practitioner/sr-ghost']);
    expect(items(alone.body)).toEqual(['DocumentReference/sr-visible', 'Practitioner/sr-ghost']);
    const masked = bearerId('List.entry.item', TARGETS.findIndex(([name]) => name === 'a document hidden by MASQUE_PS'));
    const existing = await server.request.post('/fhir/List').set('Authorization', `Bearer ${tokens.nurse}`).set('Content-Type', FHIR_JSON).set('If-None-Exist', `_id=${masked}`).send(JSON.stringify(list));
    expect([existing.status, existing.body.id, items(existing.body)]).toEqual([200, masked, []]); // the existing List, as served
  });

  describe('IHE MHD: the SubmissionSet List of an ITI-65 submission', () => {
    const submissions = new Map<'masked' | 'plain', { list: string; document: string; patient: string }>();

    beforeAll(async () => {
      const lab = await server.systemToken('sr-lab', 'system/*.*');
      for (const kind of ['masked', 'plain'] as const) {
        // The fixture's patient is one whose space is open (created through the API, no account), named by reference.
        const patient = `sr-mhd-${kind}`;
        await server.put(patientResource(patient));
        const fixture = JSON.stringify(readFixture<Bundle>('ihe-mhd/Bundle-ex-minimalProvideDocumentBundleSimple.json'));
        const bundle = JSON.parse(fixture.split(FIXTURE_PATIENT).join(`Patient/${patient}`)) as Bundle;
        bundle.entry = bundle.entry?.filter((entry) => entry.resource?.resourceType !== 'Patient');
        const document = bundle.entry?.find((entry) => entry.resource?.resourceType === 'DocumentReference')?.resource as Resource & { securityLabel?: unknown };
        if (kind === 'masked') document.securityLabel = [{ coding: [{ system: A07, code: 'MASQUE_PS' }] }];
        const res = await postBundle(server, lab, bundle);
        expect([res.status, res.status === 200 ? undefined : res.body]).toEqual([200, undefined]);
        const located = (type: string) => ((res.body as Bundle).entry ?? []).map((entry) => entry.response?.location ?? '').find((location) => location.includes(`/${type}/`)) as string;
        const idOf = (type: string) => new RegExp(`/${type}/([^/]+)/_history/`).exec(located(type))?.[1] as string;
        submissions.set(kind, { list: idOf('List'), document: idOf('DocumentReference'), patient });
      }
      await server.put({ resourceType: 'Practitioner', id: 'sr-doc' } as Resource);
      for (const role of roleResources(practitioner('sr-doc', ['10']))) await server.put(role);
      for (const { patient } of submissions.values()) await server.put(choice('authorize', patient, { actors: ['Practitioner/sr-doc'] }));
    });

    it.each([
      ['masked', false],
      ['plain', true],
    ] as const)('an authorized médecin reads the %s submission: the document is listed=%s, on read and on ITI-66', async (kind, listed) => {
      const doctor = await server.practitionerToken('sr-doc');
      const { list, document, patient } = submissions.get(kind) as { list: string; document: string; patient: string };
      const read = await get(server, doctor, `List/${list}`);
      const found = await get(server, doctor, `List?patient=${patient}&code=submissionset`);
      const items = (resource: { entry?: { item: { reference: string } }[] }) => (resource.entry ?? []).map((entry) => entry.item.reference);
      expect(items(read.body)).toEqual(listed ? [`DocumentReference/${document}`] : []);
      expect(found.body.entry.map((entry: BundleEntry) => items(entry.resource as never))).toEqual([listed ? [`DocumentReference/${document}`] : []]);
      expect(read.body.subject.reference).toBe(`Patient/${patient}`);
    });
  });
});
