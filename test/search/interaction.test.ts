/** The searchset Bundle (interactions/search.ts): links, entries, modes, outcome, _summary/_elements, POST _search, scopes, named patients. */
import type { Bundle, Patient } from 'fhir/r4';
import { seeded, BASE, type Bench } from './fixtures';
import { searchInteraction } from '../../src/api/interactions/search';
import type { AccessPolicy, FhirContext } from '../../src/kernel/ports';
import type { FhirRequest, QueryParams } from '../../src/kernel/request';
import type { Caller } from '../../src/kernel/caller';
import { allowAll } from '../../src/kernel/predicate';
import { FhirError, forbidden } from '../../src/kernel/errors';

const caller: Caller = { kind: 'system', sub: 'test', clientId: 'test', operator: true, scopes: [] };

describe('searchInteraction', () => {
  let b: Bench;
  let ctx: FhirContext;
  const forbiddenTypes = new Set<string>();
  const blockedPatients = new Set<string>();
  const checkedPatients: string[] = [];
  beforeAll(async () => {
    b = await seeded();
    const access: AccessPolicy = {
      readable: () => allowAll,
      checkWrite: async () => {},
      checkPatientSpace: async (_caller, patientId) => {
        checkedPatients.push(patientId);
        if (blockedPatients.has(patientId)) throw forbidden(`blocked from ${patientId}`);
      },
      checkScope: (_caller, type) => {
        if (forbiddenTypes.has(type)) throw forbidden(`no scope for ${type}`);
      },
    };
    ctx = { baseUrl: BASE, store: b.store, search: b.engine, registry: b.registry, access } as unknown as FhirContext;
  });
  afterAll(() => b.t.drop());
  afterEach(() => {
    forbiddenTypes.clear();
    blockedPatients.clear();
    checkedPatients.length = 0;
  });

  const request = (query: string, extra: Partial<FhirRequest> = {}): FhirRequest => ({
    method: 'GET',
    path: '',
    query: [...new URLSearchParams(query).entries()],
    headers: {},
    caller,
    ...extra,
  });
  const bundleOf = async (type: string | undefined, query: string, extra: Partial<FhirRequest> = {}) => (await searchInteraction(request(query, extra), ctx, type)).body as Bundle;
  const queryOf = (url: string): QueryParams => [...new URL(url).searchParams.entries()];

  it('builds a searchset with total, absolute links, fullUrls and search modes', async () => {
    const bundle = await bundleOf('DocumentReference', 'patient=p1&_include=DocumentReference:author&_count=1');
    expect(bundle.type).toBe('searchset');
    expect(bundle.total).toBe(2);
    expect(bundle.link?.find((l) => l.relation === 'self')?.url).toBe(`${BASE}/DocumentReference?patient=p1&_include=DocumentReference%3Aauthor&_count=1`);
    expect(bundle.link?.find((l) => l.relation === 'next')?.url).toMatch(new RegExp(`^${BASE}/DocumentReference\\?.*_cursor=`));
    expect(bundle.entry?.map((e) => [e.fullUrl, e.search?.mode])).toEqual([
      [`${BASE}/DocumentReference/d1`, 'match'],
      [`${BASE}/Practitioner/pr1`, 'include'],
    ]);
  });

  it('follows next and previous links by their URL', async () => {
    const first = await bundleOf('Patient', '_count=3&_sort=family');
    const next = first.link!.find((l) => l.relation === 'next')!.url;
    const second = (await searchInteraction(request('', { query: queryOf(next) }), ctx, 'Patient')).body as Bundle;
    expect(second.entry?.map((e) => e.resource?.id)).toEqual(['p2']);
    expect(second.link?.find((l) => l.relation === 'self')?.url).toBe(next);
    const previous = second.link!.find((l) => l.relation === 'previous')!.url;
    const back = (await searchInteraction(request('', { query: queryOf(previous) }), ctx, 'Patient')).body as Bundle;
    expect(back.entry?.map((e) => e.resource?.id)).toEqual(first.entry?.map((e) => e.resource?.id));
  });

  it('adds an outcome entry for ignored parameters (lenient) and refuses them with Prefer: handling=strict', async () => {
    const lenient = await bundleOf('Patient', 'gender=male&nonsense=1');
    expect(lenient.link?.[0].url).toBe(`${BASE}/Patient?gender=male`);
    const outcome = lenient.entry?.find((e) => e.search?.mode === 'outcome');
    expect(outcome?.resource?.resourceType).toBe('OperationOutcome');
    await expect(searchInteraction(request('gender=male&nonsense=1', { headers: { prefer: 'handling=strict' } }), ctx, 'Patient')).rejects.toMatchObject({
      status: 400,
      issues: [expect.objectContaining({ expression: ['nonsense'] })],
    });
  });

  it.each([
    ['a form body string', 'gender=male&_count=1'],
    ['parsed pairs', [['gender', 'male'], ['_count', '1']]],
    ['a parsed object', { gender: 'male', _count: '1' }],
  ])('POST _search merges %s with the query', async (_kind, body) => {
    const bundle = await bundleOf('Patient', '_sort=family', { method: 'POST', body });
    expect(bundle.total).toBe(2);
    expect(bundle.entry?.map((e) => e.resource?.id)).toEqual(['p4']);
    expect(bundle.link?.[0].url).toBe(`${BASE}/Patient?_sort=family&gender=male&_count=1`);
  });

  it('_summary=count returns the total only', async () => {
    const bundle = await bundleOf('Patient', '_summary=count');
    expect(bundle.total).toBe(4);
    expect(bundle.entry).toBeUndefined();
  });

  it('_summary=true keeps summary elements and tags the resource SUBSETTED', async () => {
    const bundle = await bundleOf('Patient', '_id=p1&_summary=true');
    const patient = bundle.entry?.[0].resource as Patient;
    expect(patient.name).toBeDefined();
    expect(patient.birthDate).toBe('1980-05-15');
    expect(patient.meta?.tag?.map((t) => t.code)).toEqual(['vip', 'SUBSETTED']);
  });

  it('_summary=data drops text; _summary=text keeps text and mandatory elements only', async () => {
    await b.put({ resourceType: 'Patient', id: 'with-text', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' }, gender: 'other' });
    const data = (await bundleOf('Patient', '_id=with-text&_summary=data')).entry?.[0].resource as Patient;
    expect(data.text).toBeUndefined();
    expect(data.gender).toBe('other');
    const text = (await bundleOf('Patient', '_id=with-text&_summary=text')).entry?.[0].resource as Patient;
    expect(text.text?.status).toBe('generated');
    expect(text.gender).toBeUndefined();
  });

  it('_elements keeps the named elements of the matches (choice elements included), not of the includes', async () => {
    const bundle = await bundleOf('Patient', '_id=p3&_elements=name,deceased&_include=Patient:general-practitioner');
    const patient = bundle.entry?.[0].resource as Patient;
    expect(Object.keys(patient).sort()).toEqual(['deceasedDateTime', 'id', 'meta', 'name', 'resourceType']);
    expect(bundle.entry?.[1].resource).toMatchObject({ resourceType: 'Practitioner', name: [{ family: 'House' }] });
  });

  it('checks the search scope of the type, and leaves out included types outside the scopes', async () => {
    forbiddenTypes.add('Practitioner');
    await expect(bundleOf('Practitioner', '')).rejects.toBeInstanceOf(FhirError);
    const bundle = await bundleOf('DocumentReference', '_id=d1&_include=*');
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual(['DocumentReference', 'Patient']);
  });

  it.each([
    ['DocumentReference', 'patient=p1', ['p1']],
    ['DocumentReference', 'subject=Patient/p2,http://carnet.test/fhir/Patient/p3', ['p2', 'p3']],
    ['Observation', 'subject:Patient=p1&code=8480-6', ['p1']],
    ['Patient', '_id=p4', ['p4']],
    ['DocumentReference', 'patient.name=durand', []],
    ['DocumentReference', 'status=current', []],
  ])('%s?%s asks the access policy about patients %j', async (type, query, patients) => {
    await bundleOf(type, query);
    expect(checkedPatients).toEqual(patients);
  });

  it('a search naming a patient space the caller may not enter is refused', async () => {
    blockedPatients.add('p1');
    await expect(bundleOf('DocumentReference', 'patient=p1')).rejects.toMatchObject({ status: 403 });
    expect((await bundleOf('DocumentReference', 'patient=p2')).total).toBe(1);
  });
});
