/** Concurrent writers never lose an update; conditional creates never duplicate (CONTRACT §2), on the real engine. */
import { get, send, startTestServer, type TestServer } from '../support/server';

const PARALLEL = 24;

describe('concurrency', () => {
  let server: TestServer;
  let op: string;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('lab');
  });
  afterAll(() => server.close());

  it(`${PARALLEL} parallel updates of one resource all land as distinct versions`, async () => {
    const created = await send(server, 'post', 'Organization', op, { resourceType: 'Organization', name: 'v0' });
    const id = created.body.id;
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => send(server, 'put', `Organization/${id}`, op, { resourceType: 'Organization', id, name: `writer ${i}` })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(PARALLEL).fill(200));
    const versions = results.map((r) => Number(r.body.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: PARALLEL }, (_, i) => i + 2));
    const history = await get(server, `Organization/${id}/_history?_count=100`, op);
    expect(history.body.entry).toHaveLength(PARALLEL + 1);
    const names = new Set(history.body.entry.map((e: { resource: { name: string } }) => e.resource.name));
    for (let i = 0; i < PARALLEL; i++) expect(names.has(`writer ${i}`)).toBe(true);
  });

  it(`${PARALLEL} parallel updates with the same If-Match: exactly one wins, the rest get 412`, async () => {
    const created = await send(server, 'post', 'Organization', op, { resourceType: 'Organization', name: 'v0' });
    const id = created.body.id;
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        send(server, 'put', `Organization/${id}`, op, { resourceType: 'Organization', id, name: `racer ${i}` }).set('If-Match', 'W/"1"'),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(PARALLEL - 1);
    expect((await get(server, `Organization/${id}`, op)).body.meta.versionId).toBe('2');
  });

  it(`${PARALLEL} parallel conditional creates with the same criteria create exactly one resource`, async () => {
    const body = { resourceType: 'Practitioner', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810000000042' }], name: [{ family: 'Unique' }] };
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, () => send(server, 'post', 'Practitioner', op, body).set('If-None-Exist', 'identifier=urn:oid:1.2.250.1.71.4.2.1|810000000042')),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(PARALLEL - 1);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const { rows } = await server.carnet.db.raw(`SELECT count(*)::int AS n FROM resources WHERE resource_type = 'Practitioner' AND content->'identifier'->0->>'value' = '810000000042'`);
    expect(rows[0].n).toBe(1);
  });

  it(`${PARALLEL} parallel PUTs creating the same client id: one 201, the others update it`, async () => {
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => send(server, 'put', 'Organization/shared-id', op, { resourceType: 'Organization', id: 'shared-id', name: `n${i}` })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(PARALLEL - 1);
    expect((await get(server, 'Organization/shared-id', op)).body.meta.versionId).toBe(String(PARALLEL));
  });
});
