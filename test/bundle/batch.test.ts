/** Batches (POST /fhir): independent entries, per-entry outcomes, conditional references, order per resource. */
import type { OperationOutcome } from 'fhir/r4';
import { get, send, startTestServer, type TestServer } from '../support/server';
import { postBundle } from './fixtures';

interface Entry {
  resource?: { [element: string]: unknown };
  response: { status: string; location?: string; outcome?: OperationOutcome };
}

const batch = (...entry: unknown[]) => ({ resourceType: 'Bundle', type: 'batch', entry });
const organization = (value: string, name = 'Clinique') => ({ resourceType: 'Organization', identifier: [{ system: 'urn:test:finess', value }], name });
const statuses = (entries: Entry[]) => entries.map((entry) => entry.response.status);

describe('batch', () => {
  let server: TestServer;
  let op: string;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('directory-feed');
  });
  afterAll(() => server.close());

  it('answers each entry on its own: failures carry an OperationOutcome, the others are kept', async () => {
    const res = await postBundle(
      server,
      op,
      batch(
        { resource: organization('b-1'), request: { method: 'POST', url: 'Organization' } },
        { resource: { resourceType: 'Organization', active: 'yes' }, request: { method: 'POST', url: 'Organization' } },
        { request: { method: 'GET', url: 'Organization/missing' } },
        { resource: organization('b-2'), request: { method: 'TRACE', url: 'Organization' } },
        { resource: organization('b-3'), request: { method: 'POST', url: 'Organization' } },
        { request: { method: 'GET', url: 'Organization?identifier=urn:test:finess|b-1' } },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const entries = res.body.entry as Entry[];
    expect(statuses(entries)).toEqual(['201 Created', '422 Unprocessable Entity', '404 Not Found', '400 Bad Request', '201 Created', '200 OK']);
    expect(entries[1].response.outcome?.issue[0].expression).toBeDefined();
    expect(entries[3].response.outcome?.issue[0].diagnostics).toMatch(/request\.method/);
    expect((await get(server, 'Organization?identifier=urn:test:finess|b-3', op)).body.entry).toHaveLength(1);
  });

  it('resolves conditional references per entry; one that matches nothing fails only its entry', async () => {
    await send(server, 'post', 'Organization', op, organization('parent-1', 'Groupe'));
    const res = await postBundle(
      server,
      op,
      batch(
        { resource: { ...organization('child-1'), partOf: { reference: 'Organization?identifier=urn:test:finess|parent-1' } }, request: { method: 'POST', url: 'Organization' } },
        { resource: { ...organization('child-2'), partOf: { reference: 'Organization?identifier=urn:test:finess|nobody' } }, request: { method: 'POST', url: 'Organization' } },
      ),
    );
    const entries = res.body.entry as Entry[];
    expect(statuses(entries)).toEqual(['201 Created', '412 Precondition Failed']);
    expect((entries[0].resource as { partOf: { reference: string } }).partOf.reference).toMatch(/^Organization\/[0-9a-f-]{36}$/);
    expect(entries[1].response.outcome?.issue[0].expression).toEqual(['Bundle.entry[1].resource.partOf.reference']);
  });

  it('runs ifNoneExist entries without duplicates, even repeated in one batch', async () => {
    const entry = { resource: organization('dup-1'), request: { method: 'POST', url: 'Organization', ifNoneExist: 'identifier=urn:test:finess|dup-1' } };
    const res = await postBundle(server, op, batch(entry, entry, entry));
    expect(statuses(res.body.entry).sort()).toEqual(['200 OK', '200 OK', '201 Created']);
    expect((await get(server, 'Organization?identifier=urn:test:finess|dup-1', op)).body.entry).toHaveLength(1);
  });

  it('keeps Bundle order for entries naming the same resource', async () => {
    const res = await postBundle(
      server,
      op,
      batch(
        { resource: { ...organization('ordered', 'v1'), id: 'ordered' }, request: { method: 'PUT', url: 'Organization/ordered' } },
        { resource: { ...organization('ordered', 'v2'), id: 'ordered' }, request: { method: 'PUT', url: 'Organization/ordered' } },
        { request: { method: 'GET', url: 'Organization/ordered' } },
        { request: { method: 'DELETE', url: 'Organization/ordered' } },
        { request: { method: 'GET', url: 'Organization/ordered' } },
      ),
    );
    const entries = res.body.entry as Entry[];
    expect(statuses(entries)).toEqual(['201 Created', '200 OK', '200 OK', '204 No Content', '410 Gone']);
    expect((entries[2].resource as { name: string }).name).toBe('v2');
  });

  it('leaves references to other entries’ fullUrls as written (batch entries are independent)', async () => {
    const res = await postBundle(
      server,
      op,
      batch({ fullUrl: 'urn:uuid:3f1c0c52-0000-4000-8000-000000000001', resource: { ...organization('u-1'), partOf: { reference: 'urn:uuid:3f1c0c52-0000-4000-8000-000000000002' } }, request: { method: 'POST', url: 'Organization' } }),
    );
    expect(res.body.entry[0].resource.partOf.reference).toBe('urn:uuid:3f1c0c52-0000-4000-8000-000000000002');
  });

  it('PATCH entries take a Binary holding a JSON Patch', async () => {
    await send(server, 'put', 'Organization/patched', op, { ...organization('p-1'), id: 'patched' });
    const patch = Buffer.from(JSON.stringify([{ op: 'replace', path: '/name', value: 'Renamed' }])).toString('base64');
    const res = await postBundle(server, op, batch({ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: 'Organization/patched' } }));
    expect(statuses(res.body.entry)).toEqual(['200 OK']);
    expect(res.body.entry[0].resource.name).toBe('Renamed');
  });

  it('PATCH entries take a FHIRPath Patch Parameters', async () => {
    await send(server, 'put', 'Organization/fp-patched', op, { ...organization('p-2'), id: 'fp-patched', active: true });
    const parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Organization.active' }, { name: 'value', valueBoolean: false }] },
        { name: 'operation', part: [{ name: 'type', valueCode: 'add' }, { name: 'path', valueString: 'Organization' }, { name: 'name', valueString: 'alias' }, { name: 'value', valueString: 'CHU' }] },
      ],
    };
    const res = await postBundle(server, op, batch({ resource: parameters, request: { method: 'PATCH', url: 'Organization/fp-patched' } }));
    expect(statuses(res.body.entry)).toEqual(['200 OK']);
    expect(res.body.entry[0].resource).toMatchObject({ active: false, alias: ['CHU'] });
  });

  it('a batch cannot be nested in another bundle entry', async () => {
    const res = await postBundle(server, op, batch({ resource: batch(), request: { method: 'POST', url: '/' } }));
    expect(statuses(res.body.entry)).toEqual(['400 Bad Request']);
  });
});
