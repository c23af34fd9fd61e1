/**
 * The searchset Bundle (interactions/search.ts): links, entries, modes,
 * outcome, _summary/_elements, POST _search, scopes, named patients — in
 * sessions of production's policy (test/support/server.ts): the system
 * client that wrote every resource (it reads them all), one with fewer
 * scopes, and patients (refused every other patient's space).
 */
import type { Bundle, Patient } from 'fhir/r4';
import { seeded, BASE, CREATOR, type SearchServer } from './fixtures';
import { searchInteraction } from '../../src/api/interactions/search';
import { RequestRecorder } from '../../src/audit/recorder';
import type { FhirRequest, QueryParams } from '../../src/kernel/request';
import type { Caller } from '../../src/kernel/caller';
import { FhirError } from '../../src/kernel/errors';
import { parseScopes } from '../../src/identity/scopes';

const patientCaller = (patientId: string): Caller => ({ kind: 'patient', sub: `patient-${patientId}`, scopes: parseScopes('patient/*.*'), patientId });
/** The creator of the data with search scopes on two types only. */
const narrow: Caller = { kind: 'system', sub: 'test', clientId: 'test', scopes: parseScopes('system/DocumentReference.rs system/Patient.rs'), operator: false };

/** The patients whose space the policy refused, as it tells the audit. */
class Refusals extends RequestRecorder {
  readonly patients: string[] = [];
  override refused(patientIds: readonly string[]): void {
    this.patients.push(...patientIds);
    super.refused(patientIds);
  }
}

describe('searchInteraction', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  const request = (query: string, extra: Partial<FhirRequest> = {}): FhirRequest => ({
    method: 'GET',
    path: '',
    query: [...new URLSearchParams(query).entries()],
    headers: {},
    ...extra,
  });
  const bundleOf = async (type: string | undefined, query: string, extra: Partial<FhirRequest> = {}, caller: Caller = CREATOR) =>
    (await searchInteraction(request(query, extra), b.server.session(caller), type)).body as Bundle;
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
    const second = (await searchInteraction(request('', { query: queryOf(next) }), b.server.session(CREATOR), 'Patient')).body as Bundle;
    expect(second.entry?.map((e) => e.resource?.id)).toEqual(['p2']);
    expect(second.link?.find((l) => l.relation === 'self')?.url).toBe(next);
    const previous = second.link!.find((l) => l.relation === 'previous')!.url;
    const back = (await searchInteraction(request('', { query: queryOf(previous) }), b.server.session(CREATOR), 'Patient')).body as Bundle;
    expect(back.entry?.map((e) => e.resource?.id)).toEqual(first.entry?.map((e) => e.resource?.id));
  });

  it('adds an outcome entry for ignored parameters (lenient) and refuses them with Prefer: handling=strict', async () => {
    const lenient = await bundleOf('Patient', 'gender=male&nonsense=1');
    expect(lenient.link?.[0].url).toBe(`${BASE}/Patient?gender=male`);
    const outcome = lenient.entry?.find((e) => e.search?.mode === 'outcome');
    expect(outcome?.resource?.resourceType).toBe('OperationOutcome');
    await expect(searchInteraction(request('gender=male&nonsense=1', { headers: { prefer: 'handling=strict' } }), b.server.session(CREATOR), 'Patient')).rejects.toMatchObject({
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
    await expect(bundleOf('Practitioner', '', {}, narrow)).rejects.toBeInstanceOf(FhirError);
    const bundle = await bundleOf('DocumentReference', '_id=d1&_include=*', {}, narrow);
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
    // a patient with no data of the set: the policy refuses every space it is asked about
    const refusals = new Refusals(b.server.session(CREATOR).compartment);
    const session = b.server.session(patientCaller('nobody')).withRecorder(refusals);
    const status = await searchInteraction(request(query), session, type).then(
      (response) => response.status,
      (error: FhirError) => error.status,
    );
    expect(refusals.patients).toEqual(patients);
    expect(status).toBe(patients.length > 0 ? 403 : 200);
  });

  it('a search naming a patient space the caller may not enter is refused', async () => {
    const p2 = patientCaller('p2');
    await expect(bundleOf('DocumentReference', 'patient=p1', {}, p2)).rejects.toMatchObject({ status: 403 });
    expect((await bundleOf('DocumentReference', 'patient=p2', {}, p2)).total).toBe(1);
  });
});
