/** GET Patient/{id}/$everything: the patient's compartment and what it references, nothing of other patients, paged. */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { BASE, get, send, startTestServer, type TestServer } from '../support/server';
import { postBundle } from './fixtures';

const entryKeys = (bundle: Bundle) => (bundle.entry ?? []).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`);

describe('Patient/$everything', () => {
  let server: TestServer;
  let op: string;
  let alice: string;
  let bob: string;
  let practitioner: string;
  const aliceOwn: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('hospital-a');
    const observation = (subject: string, extra: Record<string, unknown> = {}) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'weight' },
      subject: { reference: subject },
      ...extra,
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:a0000000-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Alice' }] }, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: 'urn:uuid:a0000000-0000-4000-8000-000000000002', resource: { resourceType: 'Patient', name: [{ family: 'Bob' }] }, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: 'urn:uuid:a0000000-0000-4000-8000-000000000003', resource: { resourceType: 'Practitioner', name: [{ family: 'House' }] }, request: { method: 'POST', url: 'Practitioner' } },
        ...[1, 2, 3, 4].map((i) => ({
          resource: observation('urn:uuid:a0000000-0000-4000-8000-000000000001', { valueString: `alice ${i}`, performer: [{ reference: 'urn:uuid:a0000000-0000-4000-8000-000000000003' }] }),
          request: { method: 'POST', url: 'Observation' },
        })),
        { resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'urn:uuid:a0000000-0000-4000-8000-000000000001' } }, request: { method: 'POST', url: 'Encounter' } },
        { resource: observation('urn:uuid:a0000000-0000-4000-8000-000000000002', { valueString: 'bob only' }), request: { method: 'POST', url: 'Observation' } },
        // Bob's observation performed by Alice: stored with Bob as its first patient, in Alice's compartment too
        { resource: observation('urn:uuid:a0000000-0000-4000-8000-000000000002', { valueString: 'bob, by alice', performer: [{ reference: 'urn:uuid:a0000000-0000-4000-8000-000000000001' }] }), request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const res = await postBundle(server, op, bundle);
    expect(res.status).toBe(200);
    const ids = (res.body.entry as BundleEntry[]).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`);
    [alice, bob, practitioner] = ids.slice(0, 3).map((key) => key.split('/')[1]);
    aliceOwn.push(ids[0], ...ids.slice(3, 8), ids[9]);
  });
  afterAll(() => server.close());

  it('returns the patient, its compartment and the resources it references, nothing of another patient', async () => {
    const res = await get(server, `Patient/${alice}/$everything`, op);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('searchset');
    const keys = entryKeys(res.body);
    expect(keys.sort()).toEqual([...aliceOwn, `Practitioner/${practitioner}`].sort());
    expect(keys).not.toContain(`Patient/${bob}`);
    const modes = Object.fromEntries((res.body.entry as BundleEntry[]).map((entry) => [`${entry.resource?.resourceType}/${entry.resource?.id}`, entry.search?.mode]));
    expect(modes[`Practitioner/${practitioner}`]).toBe('include');
    expect(modes[`Patient/${alice}`]).toBe('match');
    expect(res.body.entry[0].fullUrl).toMatch(new RegExp(`^${BASE}/fhir/`));
  });

  it('pages with _count and a next link that walks every resource once', async () => {
    const seen: string[] = [];
    let url: string | undefined = `Patient/${alice}/$everything?_count=3`;
    let pages = 0;
    while (url) {
      const res = await get(server, url, op);
      expect(res.status).toBe(200);
      expect(res.body.entry.length).toBeLessThanOrEqual(3);
      seen.push(...entryKeys(res.body));
      const next = (res.body as Bundle).link?.find((link) => link.relation === 'next')?.url;
      url = next?.slice(`${BASE}/fhir/`.length);
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...aliceOwn, `Practitioner/${practitioner}`].sort());
  });

  it.each<[string, (keys: string[]) => void]>([
    ['_type=Observation', (keys) => expect(keys.every((key) => key.startsWith('Observation/'))).toBe(true)],
    ['_type=Encounter,Patient', (keys) => expect(keys).toHaveLength(2)],
    [`_since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, (keys) => expect(keys).toHaveLength(0)],
  ])('filters with %s', async (query, check) => {
    const res = await get(server, `Patient/${alice}/$everything?${query}`, op);
    expect(res.status).toBe(200);
    check(entryKeys(res.body));
  });

  it.each<[string, number]>([
    ['_type=NotAType', 400],
    ['_since=yesterday', 400],
    ['_count=abc', 400],
  ])('rejects %s with %i', async (query, status) => {
    expect((await get(server, `Patient/${alice}/$everything?${query}`, op)).status).toBe(status);
  });

  it('the patient sees its own everything; another patient is refused; an unknown id is 404', async () => {
    const own = await get(server, `Patient/${alice}/$everything`, await server.patientToken(alice));
    expect(own.status).toBe(200);
    expect(entryKeys(own.body)).toContain(`Patient/${alice}`);
    expect(entryKeys(own.body)).not.toContain(`Patient/${bob}`);
    expect([403, 404]).toContain((await get(server, `Patient/${alice}/$everything`, await server.patientToken(bob))).status); // 403 when the access policy refuses the space outright
    expect((await get(server, 'Patient/nobody/$everything', op)).status).toBe(404);
  });

  it('another system client, which created none of it, is refused', async () => {
    const other = await server.systemToken('hospital-b');
    expect([403, 404]).toContain((await get(server, `Patient/${alice}/$everything`, other)).status);
  });

  it('a deleted patient is 410', async () => {
    const created = await send(server, 'post', 'Patient', op, { resourceType: 'Patient', name: [{ family: 'Gone' }] });
    await server.request.delete(`/fhir/Patient/${created.body.id}`).set('Authorization', `Bearer ${op}`);
    expect((await get(server, `Patient/${created.body.id}/$everything`, op)).status).toBe(410);
  });

  it('a resource in several compartments is found from each', async () => {
    const res = await get(server, `Patient/${bob}/$everything?_type=Observation`, op);
    const values = (res.body.entry as { resource: Resource & { valueString: string } }[]).map((entry) => entry.resource.valueString).sort();
    expect(values).toEqual(['bob only', 'bob, by alice']);
  });
});
