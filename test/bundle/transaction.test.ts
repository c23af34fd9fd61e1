/** Transactions (POST /fhir): atomicity, the spec's processing order, reference resolution, responses. */
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { BASE, get, send, startTestServer, type TestServer } from '../support/server';
import { postBundle } from './fixtures';

interface Entry {
  fullUrl?: string;
  resource?: { resourceType: string; [element: string]: unknown };
  response: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: OperationOutcome };
}

const INS = 'urn:oid:1.2.250.1.213.1.4.8';
let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;
const patient = (family: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient', name: [{ family }], ...extra });
const observation = (subject: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8331-1' }] },
  subject: { reference: subject },
  ...extra,
});
const post = (fullUrl: string | undefined, resource: object, extra: Record<string, unknown> = {}) => ({
  ...(fullUrl ? { fullUrl } : {}),
  resource,
  request: { method: 'POST', url: (resource as { resourceType: string }).resourceType, ...extra },
});
const transaction = (...entry: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });
const uuid = (n: number) => `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const idOf = (entry: Entry) => /\/([^/]+)\/_history\//.exec(entry.response.location ?? '')![1];

describe('transaction', () => {
  let server: TestServer;
  let op: string;
  const rowCount = async () => Number((await server.carnet.db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM resource_versions')).rows[0].n);
  const indexRowCount = async () =>
    Number((await server.carnet.db.raw<{ rows: { n: string }[] }>('SELECT (SELECT count(*) FROM search_string) + (SELECT count(*) FROM search_token) + (SELECT count(*) FROM search_reference) AS n')).rows[0].n);

  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('hospital-a');
  });
  afterAll(() => server.close());

  describe('rolls back everything when one entry fails', () => {
    const valid = () => [post(uuid(1), patient('Rollback')), post(uuid(2), observation(uuid(1))), post(undefined, patient('Other'))];
    it.each<[string, number, string, () => unknown[]]>([
      ['an invalid resource in entry 3', 422, 'Bundle.entry[3]', () => [...valid(), post(undefined, { resourceType: 'Patient', birthDate: 'not-a-date' })]],
      ['a conditional reference with no match', 412, 'Bundle.entry[3].resource.subject.reference', () => [...valid(), post(undefined, observation('Patient?identifier=urn:x|nobody'))]],
      ['a conditional reference with several matches', 412, 'Bundle.entry[3].resource.subject.reference', () => [...valid(), post(undefined, observation('Patient?family=Twin'))]],
      ['a duplicate fullUrl', 400, 'Bundle.entry[3].fullUrl', () => [...valid(), post(uuid(1), patient('Again'))]],
      ['an unknown resource type', 404, 'Bundle.entry[3]', () => [...valid(), { resource: { resourceType: 'Patientt' }, request: { method: 'POST', url: 'Patientt' } }]],
      ['a bad method', 400, 'Bundle.entry[3].request.method', () => [...valid(), { resource: patient('X'), request: { method: 'TRACE', url: 'Patient' } }]],
      ['a missing request', 400, 'Bundle.entry[3].request', () => [...valid(), { resource: patient('X') }]],
      ['a missing url', 400, 'Bundle.entry[3].request.url', () => [...valid(), { resource: patient('X'), request: { method: 'POST' } }]],
      ['a urn:uuid reference no entry declares', 400, 'Bundle.entry[3].resource.subject.reference', () => [...valid(), post(undefined, observation(uuid(99)))]],
      ['two entries modifying one resource', 400, 'Bundle.entry[4].request', () => [...valid(), { resource: { ...patient('A'), id: 'same' }, request: { method: 'PUT', url: 'Patient/same' } }, { request: { method: 'DELETE', url: 'Patient/same' } }]],
      ['a read of a missing resource', 404, 'Bundle.entry[3]', () => [...valid(), { request: { method: 'GET', url: 'Patient/does-not-exist' } }]],
      ['an If-Match that does not match', 412, 'Bundle.entry[3]', () => [...valid(), { resource: { resourceType: 'Organization', id: 'versioned', name: 'B' }, request: { method: 'PUT', url: 'Organization/versioned', ifMatch: 'W/"7"' } }]],
      ['a relative fullUrl', 400, 'Bundle.entry[3].fullUrl', () => [...valid(), post('Patient/123', patient('Relative'))]],
      ['an absolute url on another server', 400, 'Bundle.entry[3].request.url', () => [...valid(), { resource: patient('Far'), request: { method: 'POST', url: 'http://elsewhere.example/fhir/Patient' } }]],
      ['a nested transaction', 400, 'Bundle.entry[3].request.url', () => [...valid(), { resource: transaction(), request: { method: 'POST', url: '' } }]],
    ])('%s → %i, naming the entry, nothing persisted', async (_name, status, expression, entries) => {
      await send(server, 'post', 'Patient', op, patient('Twin'));
      await send(server, 'post', 'Patient', op, patient('Twin'));
      const before = await rowCount();
      const indexBefore = await indexRowCount();
      const res = await postBundle(server, op, transaction(...entries()));
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].expression).toContain(expression);
      expect(res.body.issue[0].diagnostics).toMatch(/Bundle\.entry\[\d\]/);
      expect(await rowCount()).toBe(before);
      expect(await indexRowCount()).toBe(indexBefore);
    });

    it('after 700 good entries (index rows already written once) → nothing persisted, no index row left', async () => {
      const entries = [post(uuid(80), patient('Many'))];
      for (let i = 0; i < 700; i++) entries.push(post(undefined, observation(uuid(80), { valueString: `kept ${i}` })));
      entries.push(post(undefined, { resourceType: 'Patient', birthDate: 'not-a-date' }));
      const before = await rowCount();
      const indexBefore = await indexRowCount();
      const res = await postBundle(server, op, transaction(...entries), 'return=minimal');
      expect(res.status).toBe(422);
      expect(res.body.issue[0].expression).toContain('Bundle.entry[701]');
      expect(await rowCount()).toBe(before);
      expect(await indexRowCount()).toBe(indexBefore);
    });
  });

  it.each<[string, number, unknown]>([
    ['no type', 400, { resourceType: 'Bundle', entry: [] }],
    ['type collection', 400, { resourceType: 'Bundle', type: 'collection', entry: [] }],
    ['a Patient instead of a Bundle', 400, patient('NotABundle')],
    ['entry not an array', 400, { resourceType: 'Bundle', type: 'transaction', entry: {} }],
  ])('a body with %s → %i', async (_name, status, body) => {
    const res = await postBundle(server, op, body);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('an empty transaction answers an empty transaction-response, also on /fhir/', async () => {
    const res = await server.request.post('/fhir/').set('Authorization', `Bearer ${op}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(transaction()));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
  });

  it('rewrites urn:uuid, our-base and fullUrl references; keeps #contained, versioned and foreign ones', async () => {
    const family = unique();
    const ownId = (await send(server, 'post', 'Patient', op, patient(`own${family}`))).body.id as string; // patient data: the server's id
    const own = `${BASE}/fhir/Patient/${ownId}`;
    // a versioned reference to an Observation the caller may see (one to nothing is left out of the served copy, §4.3 step 7)
    const member = (await send(server, 'post', 'Observation', op, observation(`Patient/${ownId}`))).body.id as string;
    const bundle = transaction(
      post(uuid(10), observation(uuid(11), {
        performer: [{ reference: own }, { reference: '#p1' }],
        contained: [{ resourceType: 'Practitioner', id: 'p1' }],
        hasMember: [{ reference: `Observation/${member}/_history/1` }, { reference: 'http://elsewhere.example/fhir/Observation/9' }],
        derivedFrom: [{ reference: uuid(12) }],
      })),
      post(uuid(11), patient(family)),
      { fullUrl: own, resource: { ...patient(`own${family}`), id: ownId }, request: { method: 'PUT', url: `Patient/${ownId}` } },
      post(uuid(12), { resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { url: uuid(13), contentType: 'text/plain' } }], subject: { reference: uuid(11) } }),
      post(uuid(13), { resourceType: 'Binary', contentType: 'text/plain', data: 'aGVsbG8=' }),
    );
    const res = await postBundle(server, op, bundle);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Entry[];
    expect(entries.map((e) => e.response.status)).toEqual(['201 Created', '201 Created', '200 OK', '201 Created', '201 Created']);
    const [obs, pat, , doc, binary] = entries;
    expect(obs.resource).toMatchObject({
      subject: { reference: `Patient/${idOf(pat)}` },
      performer: [{ reference: `Patient/${ownId}` }, { reference: '#p1' }],
      hasMember: [{ reference: `Observation/${member}/_history/1` }, { reference: 'http://elsewhere.example/fhir/Observation/9' }],
      derivedFrom: [{ reference: `DocumentReference/${idOf(doc)}` }],
    });
    expect((doc.resource as unknown as { content: { attachment: { url: string } }[] }).content[0].attachment.url).toBe(`${BASE}/fhir/Binary/${idOf(binary)}`);
    expect(obs.fullUrl).toBe(`${BASE}/fhir/Observation/${idOf(obs)}`);
    expect(obs.response).toMatchObject({ etag: 'W/"1"', location: `${BASE}/fhir/Observation/${idOf(obs)}/_history/1` });
    expect(obs.response.lastModified).toBe((obs.resource as unknown as { meta: { lastUpdated: string } }).meta.lastUpdated);
  });

  it('resolves conditional references (cached per criteria) and an ifNoneExist match', async () => {
    const npi = unique();
    const practitioner = await send(server, 'post', 'Practitioner', op, { resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }] });
    const org = await send(server, 'post', 'Organization', op, { resourceType: 'Organization', identifier: [{ system: 'urn:test:org', value: npi }], name: 'Existing' });
    const bundle = transaction(
      post(uuid(20), { resourceType: 'Organization', identifier: [{ system: 'urn:test:org', value: npi }], name: 'Existing' }, { ifNoneExist: `identifier=urn:test:org|${npi}` }),
      post(uuid(21), patient(npi, { managingOrganization: { reference: uuid(20) }, generalPractitioner: [{ reference: `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|${npi}` }] })),
      post(uuid(22), observation(uuid(21), { performer: [{ reference: `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|${npi}` }] })),
    );
    const res = await postBundle(server, op, bundle);
    expect(res.status).toBe(200);
    const [orgEntry, patEntry, obsEntry] = res.body.entry as Entry[];
    expect(orgEntry.response.status).toBe('200 OK');
    expect(orgEntry.resource?.id).toBe(org.body.id);
    expect(patEntry.resource).toMatchObject({ managingOrganization: { reference: `Organization/${org.body.id}` }, generalPractitioner: [{ reference: `Practitioner/${practitioner.body.id}` }] });
    expect(obsEntry.resource).toMatchObject({ performer: [{ reference: `Practitioner/${practitioner.body.id}` }] });
  });

  it('a conditional update creates or updates, and references to its fullUrl follow it', async () => {
    const value = unique();
    const bundle = () =>
      transaction(
        { fullUrl: uuid(30), resource: patient(value, { identifier: [{ system: INS, value }] }), request: { method: 'PUT', url: `Patient?identifier=${INS}|${value}` } },
        post(uuid(31), observation(uuid(30))),
      );
    const first = await postBundle(server, op, bundle());
    const second = await postBundle(server, op, bundle());
    expect(first.body.entry.map((e: Entry) => e.response.status)).toEqual(['201 Created', '201 Created']);
    expect(second.body.entry.map((e: Entry) => e.response.status)).toEqual(['200 OK', '201 Created']);
    const id = idOf(first.body.entry[0]);
    expect(idOf(second.body.entry[0])).toBe(id);
    expect(second.body.entry[1].resource.subject.reference).toBe(`Patient/${id}`);
  });

  it('processes DELETE, then POST, then PUT, then GET whatever their order in the Bundle', async () => {
    const id = (await send(server, 'post', 'Patient', op, patient('Before'))).body.id as string;
    const other = (await send(server, 'post', 'Patient', op, patient('Other'))).body.id as string;
    const bundle = transaction(
      { request: { method: 'GET', url: `Patient?_id=${id}` } },
      { resource: { ...patient('Put'), id: other }, request: { method: 'PUT', url: `Patient/${other}` } },
      post(uuid(40), patient('Posted', { link: [{ other: { reference: `Patient/${other}` }, type: 'seealso' }] })),
      { request: { method: 'DELETE', url: `Patient/${id}` } },
    );
    const res = await postBundle(server, op, bundle);
    expect(res.status).toBe(200);
    const [search, put, created, deleted] = res.body.entry as Entry[];
    expect(deleted.response.status).toBe('204 No Content');
    expect(created.response.status).toBe('201 Created');
    expect(put.response.status).toBe('200 OK');
    expect(search.response.status).toBe('200 OK');
    expect((search.resource as unknown as Bundle).entry ?? []).toHaveLength(0); // the GET ran after the DELETE
    expect((await get(server, `Patient/${id}`, op)).status).toBe(410);
  });

  it('its searches find its own writes, and after it commits so does everyone (index rows gathered per transaction)', async () => {
    const id = (await send(server, 'post', 'Patient', op, patient('OldFamily'))).body.id as string;
    const system = `urn:carnet:test:${unique()}`;
    const bundle = transaction(
      { request: { method: 'GET', url: `Patient?identifier=${encodeURIComponent(system)}|a` } },
      { request: { method: 'GET', url: `Patient?_id=${id}&family=NewFamily${id.replace(/-/g, '')}` } },
      { request: { method: 'GET', url: `Observation?subject=${uuid(90)}` } },
      { resource: { ...patient(`NewFamily${id.replace(/-/g, '')}`), id }, request: { method: 'PUT', url: `Patient/${id}` } },
      post(uuid(90), patient('Created', { identifier: [{ system, value: 'a' }] })),
      post(undefined, observation(uuid(90))),
      post(undefined, observation(uuid(90))),
    );
    const res = await postBundle(server, op, bundle);
    expect(res.status).toBe(200);
    const [byIdentifier, byNewFamily, observations] = (res.body.entry as Entry[]).map((entry) => entry.resource as unknown as Bundle);
    expect(byIdentifier.entry).toHaveLength(1);
    expect(byNewFamily.entry?.map((e) => e.resource?.id)).toEqual([id]);
    expect(observations.entry).toHaveLength(2);
    const created = idOf(res.body.entry[4]);
    expect((await get(server, `Patient?identifier=${encodeURIComponent(system)}|a`, op)).body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([created]);
    expect((await get(server, `Observation?subject=Patient/${created}&_summary=count`, op)).body.total).toBe(2);
    expect((await get(server, `Patient?_id=${id}&family=OldFamily`, op)).body.entry ?? []).toHaveLength(0);
    expect((await get(server, `Patient?_id=${id}&family=NewFamily${id.replace(/-/g, '')}`, op)).body.entry).toHaveLength(1);
  });

  it.each<[string, (body: Entry) => void]>([
    ['return=minimal', (entry) => expect(entry.resource).toBeUndefined()],
    ['return=representation', (entry) => expect(entry.resource?.resourceType).toBe('Patient')],
    ['return=OperationOutcome', (entry) => expect(entry.response.outcome?.resourceType).toBe('OperationOutcome')],
  ])('Prefer: %s shapes every entry', async (prefer, check) => {
    const res = await postBundle(server, op, transaction(post(uuid(50), patient('Prefer'))), prefer);
    expect(res.status).toBe(200);
    const entry = res.body.entry[0] as Entry;
    expect(entry.response.status).toBe('201 Created');
    expect(entry.response.location).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
    check(entry);
  });

  it('applies access rules per entry: a patient cannot write into another patient’s compartment', async () => {
    const a = await send(server, 'post', 'Patient', op, patient('Alice'));
    const b = await send(server, 'post', 'Patient', op, patient('Bob'));
    const token = await server.patientToken(a.body.id);
    const before = await rowCount();
    const res = await postBundle(server, token, transaction(post(uuid(60), observation(`Patient/${a.body.id}`)), post(uuid(61), observation(`Patient/${b.body.id}`))));
    expect(res.status).toBe(403);
    expect(res.body.issue[0].expression).toContain('Bundle.entry[1]');
    expect(await rowCount()).toBe(before);
  });

  it('loads a 1,200-entry transaction within the body limit', async () => {
    const entries = [post(uuid(70), patient('Large'))];
    for (let i = 0; i < 1200; i++) entries.push(post(`urn:uuid:10000000-0000-4000-8000-${String(i).padStart(12, '0')}`, observation(uuid(70), { valueString: `value ${i}` })));
    const res = await postBundle(server, op, transaction(...entries), 'return=minimal');
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(1201);
    const id = idOf(res.body.entry[0]);
    const count = await get(server, `Observation?subject=Patient/${id}&_summary=count`, op);
    expect(count.body.total).toBe(1200);
  });
});
