/**
 * What a FHIR client meets at the edge (issue 13): `_summary` and `_elements`
 * on read and vread (SUBSETTED tag), compartment search `Patient/X/Type` and
 * `Patient/X/*` answering like `Type?patient=X` (the same 403 for a
 * practitioner outside X's space), paging and `_summary=count` on searches
 * of conformance resources, instance `$meta` (a read under another name),
 * an `Allow` header on every 405.
 */
import type { Bundle, Resource } from 'fhir/r4';
import { get, send, startTestServer, BASE, type TestServer } from '../support/server';

const SUBSETTED = 'SUBSETTED';
const tagged = (resource: Resource) => (resource.meta?.tag ?? []).some((tag) => tag.code === SUBSETTED);

describe('the HTTP edge a FHIR client meets', () => {
  let server: TestServer;
  let op: string;
  let patient: string;
  let other: string;
  let observation: string;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('edge-client', 'system/*.*');
    expect((await send(server, 'put', 'PractitionerRole/r-edge', op, { resourceType: 'PractitionerRole', id: 'r-edge', active: true, practitioner: { reference: 'Practitioner/dr-edge' }, code: [{ coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante', code: '10' }] }] })).status).toBe(201);
    patient = (await send(server, 'post', 'Patient', op, { resourceType: 'Patient', name: [{ family: 'Lemaire', given: ['Jeanne'] }], birthDate: '1950-02-03', gender: 'female', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Jeanne Lemaire</div>' } })).body.id;
    other = (await send(server, 'post', 'Patient', op, { resourceType: 'Patient', name: [{ family: 'Autre' }] })).body.id;
    observation = (await send(server, 'post', 'Observation', op, { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${patient}` }, valueQuantity: { value: 61, unit: 'kg' }, note: [{ text: 'à jeun' }] })).body.id;
    await send(server, 'post', 'Observation', op, { resourceType: 'Observation', status: 'final', code: { text: 'taille' }, subject: { reference: `Patient/${patient}` } });
    await send(server, 'post', 'Observation', op, { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${other}` } });
    await send(server, 'post', 'Condition', op, { resourceType: 'Condition', code: { text: 'asthme' }, subject: { reference: `Patient/${patient}` } });
  });
  afterAll(() => server.close());

  describe('_summary and _elements on read and vread', () => {
    it.each([
      ['_summary=true keeps summary elements', (id: string) => `Observation/${id}?_summary=true`, ['code', 'status', 'subject', 'valueQuantity'], ['note'], true],
      ['_summary=data drops the narrative', () => `Patient/${patient}?_summary=data`, ['name', 'birthDate'], ['text'], true],
      ['_summary=text keeps text and mandatory elements', (id: string) => `Observation/${id}?_summary=text`, ['code', 'status'], ['note', 'valueQuantity', 'subject'], true],
      ['_elements keeps the named ones', (id: string) => `Observation/${id}?_elements=note,Observation.status`, ['note', 'status'], ['code', 'valueQuantity'], true],
      ['_elements on a vread', (id: string) => `Observation/${id}/_history/1?_elements=code`, ['code'], ['note', 'status'], true],
      ['_summary=true on a vread', (id: string) => `Observation/${id}/_history/1?_summary=true`, ['code'], ['note'], true],
      ['_summary=false leaves it whole', (id: string) => `Observation/${id}?_summary=false`, ['code', 'note', 'valueQuantity'], [], false],
      ['no parameter leaves it whole', (id: string) => `Observation/${id}`, ['code', 'note', 'valueQuantity'], [], false],
      ['_summary=true on a conformance read', () => 'CodeSystem/consent-kind?_summary=true', ['url', 'status'], ['concept'], true],
    ])('%s', async (_what, url, present, absent, subsetted) => {
      const res = await get(server, url(observation), op);
      expect(res.status).toBe(200);
      for (const key of present) expect([key, key in res.body]).toEqual([key, true]);
      for (const key of absent) expect([key, key in res.body]).toEqual([key, false]);
      expect(tagged(res.body)).toBe(subsetted);
      expect(res.body.id).toBeDefined();
    });

    it('refuses a _summary the spec does not define', async () => {
      const res = await get(server, `Observation/${observation}?_summary=maybe`, op);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    });
  });

  describe('compartment search', () => {
    const ids = (bundle: Bundle) => (bundle.entry ?? []).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`).sort();
    it.each([
      ['Patient/X/Observation', () => `Patient/${patient}/Observation`, () => `Observation?patient=${patient}`],
      ['Patient/X/Observation with a filter', () => `Patient/${patient}/Observation?code:text=poids`, () => `Observation?patient=${patient}&code:text=poids`],
      ['Patient/X/Condition', () => `Patient/${patient}/Condition`, () => `Condition?patient=${patient}`],
      ['Patient/X/Patient', () => `Patient/${patient}/Patient`, () => `Patient?_id=${patient}`],
      ['Patient/X/* with _type', () => `Patient/${patient}/*?_type=Observation,Condition`, () => `?_type=Observation,Condition&patient=${patient}`],
    ])('%s answers as the search with patient=X', async (_what, compartment, search) => {
      const [a, b] = [await get(server, compartment(), op), await get(server, search(), op)];
      expect(a.status).toBe(200);
      expect(ids(a.body)).toEqual(ids(b.body));
      expect(a.body.total).toBe(b.body.total);
      expect(a.body.total).toBeGreaterThan(0);
    });

    it('Patient/X/* finds every type of the compartment', async () => {
      const res = await get(server, `Patient/${patient}/*`, op);
      expect([res.status, res.body.issue]).toEqual([200, undefined]);
      expect(new Set(ids(res.body).map((id) => id.split('/')[0]))).toEqual(new Set(['Observation', 'Condition']));
    });

    it.each([
      ['Patient/X/Observation', () => `Patient/${patient}/Observation`],
      ['Observation?patient=X', () => `Observation?patient=${patient}`],
    ])('a practitioner outside the space gets 403 on %s', async (_what, url) => {
      const res = await get(server, url(), await server.practitionerToken('dr-edge'));
      expect(res.status).toBe(403);
      expect(res.body.resourceType).toBe('OperationOutcome');
    });

    it('Patient/X/* is a 403 for a token that reads no type of the compartment', async () => {
      const res = await get(server, `Patient/${patient}/*`, await server.systemToken('directory-only', 'system/Organization.rs'));
      expect(res.status).toBe(403);
      expect(res.body.resourceType).toBe('OperationOutcome');
    });

    it.each([
      ['an unknown type', () => `Patient/${patient}/NotAType`, 404],
      ['a type outside the compartment', () => `Patient/${patient}/Organization`, 400],
      ['a POST', () => `Patient/${patient}/Observation`, 405],
    ])('answers %s with an OperationOutcome', async (what, url, status) => {
      const res = what === 'a POST' ? await send(server, 'post', url(), op, {}) : await get(server, url(), op);
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
    });
  });

  describe('searches of conformance resources', () => {
    it('pages SearchParameter by _count and follows next links to the end', async () => {
      const first = await get(server, 'SearchParameter?_count=2', op);
      expect(first.status).toBe(200);
      expect(first.body.entry).toHaveLength(2);
      expect(first.body.total).toBeGreaterThan(1000);
      const next = (bundle: Bundle) => bundle.link?.find((link) => link.relation === 'next')?.url;
      expect(next(first.body)?.startsWith(`${BASE}/fhir/SearchParameter?`)).toBe(true);
      const second = await get(server, next(first.body)!.slice(`${BASE}/fhir/`.length), op);
      expect(second.body.entry).toHaveLength(2);
      expect(second.body.entry[0].resource.id).not.toBe(first.body.entry[0].resource.id);
      expect(second.body.link.some((link: { relation: string }) => link.relation === 'previous')).toBe(true);
    });

    it.each([
      ['default page of 20', 'SearchParameter', 20],
      ['_summary=count: the total only', 'SearchParameter?_summary=count', 0],
      ['_count=0', 'CodeSystem?_count=0', 0],
    ])('%s', async (_what, url, entries) => {
      const res = await get(server, url, op);
      expect(res.status).toBe(200);
      expect(res.body.entry?.length ?? 0).toBe(entries);
      expect(res.body.total).toBeGreaterThan(0);
    });

    it('applies _elements with SUBSETTED', async () => {
      const res = await get(server, 'CodeSystem?_count=1&_elements=url', op);
      const [resource] = res.body.entry.map((entry: { resource: Resource }) => entry.resource);
      expect(Object.keys(resource).sort()).toEqual(['id', 'meta', 'resourceType', 'url']);
      expect(tagged(resource)).toBe(true);
    });

    it('reads _count from the form body of POST _search', async () => {
      const res = await server.request.post('/fhir/SearchParameter/_search').set('Authorization', `Bearer ${op}`).type('form').send({ _count: '3', base: 'Patient' });
      expect(res.status).toBe(200);
      expect(res.body.entry).toHaveLength(3);
      expect(res.body.entry.every((entry: { resource: { base: string[] } }) => entry.resource.base.includes('Patient'))).toBe(true);
    });

    it('refuses a malformed _count', async () => {
      expect((await get(server, 'SearchParameter?_count=-1', op)).status).toBe(400);
    });
  });

  describe('$meta on an instance', () => {
    it.each([
      ['GET on a resource', 'get', (): string => `Observation/${observation}/$meta`, 200, '1'],
      ['POST on a resource', 'post', (): string => `Observation/${observation}/$meta`, 200, '1'],
      ['GET on a version', 'get', (): string => `Observation/${observation}/_history/1/$meta`, 200, '1'],
      ['an id never used', 'get', (): string => 'Observation/nobody-here/$meta', 404, undefined],
      ['a version never written', 'get', (): string => `Observation/${observation}/_history/9/$meta`, 404, undefined],
    ] as const)('%s', async (_what, method, url, status, versionId) => {
      const res = await server.request[method](`/fhir/${url()}`).set('Authorization', `Bearer ${op}`);
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe(status === 200 ? 'Parameters' : 'OperationOutcome');
      expect(res.body.parameter?.[0].name).toBe(status === 200 ? 'return' : undefined);
      expect(res.body.parameter?.[0].valueMeta.versionId).toBe(versionId);
    });

    it("is a 404 for another patient's resource, as its read is", async () => {
      const token = await server.patientToken(other);
      const [read, meta] = [await get(server, `Observation/${observation}`, token), await get(server, `Observation/${observation}/$meta`, token)];
      expect([read.status, meta.status]).toEqual([404, 404]);
    });
  });

  describe('405 answers carry Allow', () => {
    it.each([
      ['a write of a conformance type', 'post', 'StructureDefinition', 'GET, HEAD'],
      ['a write of AuditEvent', 'post', 'AuditEvent', 'GET, HEAD'],
      ['a DELETE of the capabilities', 'delete', 'metadata', 'GET, HEAD'],
      ['a PUT on _history', 'put', '_history', 'GET, HEAD'],
      ['an unknown method', 'options', 'Patient', 'DELETE, GET, HEAD, PATCH, POST, PUT'],
    ] as const)('%s', async (_what, method, path, allow) => {
      const res = await server.request[method](`/fhir/${path}`).set('Authorization', `Bearer ${op}`).set('Content-Type', 'application/fhir+json').send(method === 'post' ? JSON.stringify({ resourceType: path }) : undefined);
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.body.resourceType).toBe('OperationOutcome');
    });
  });
});
