/**
 * CONTRACT §6 over HTTP: requests about X
 * by others are audited before the response, X reads the history with a
 * token, others get 403, AuditEvent writes are 405, $verify-audit answers,
 * concurrent requests keep the chain, a Bundle is one event per patient and
 * kind of entry (a rolled-back transaction's entries stay audited, as failed), and the in-process worker mails X through a loopback SMTP server.
 */
import type { AuditEvent, Bundle, Parameters } from 'fhir/r4';
import { get, send, startTestServer, type TestServer } from '../support/server';
import { startSink, type SmtpSink } from './smtp-sink';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the activity history over HTTP', () => {
  let server: TestServer;
  let sink: SmtpSink;
  let alice: string;
  let obs: string;
  const tokens: Record<string, string> = {};

  const history = async (query = '') => {
    const res = await get(server, `AuditEvent?patient=Patient/${alice}${query}`, tokens.alice);
    expect(res.status).toBe(200);
    return ((res.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  };

  beforeAll(async () => {
    sink = await startSink();
    server = await startTestServer({ SMTP_URL: sink.url, NOTIFY_FROM: 'Carnet <notifications@carnet.test>' });
    tokens.lab = await server.systemToken('lab-a', 'system/*.*');
    tokens.practitioner = await server.practitionerToken('p1');
    alice = (await send(server, 'post', 'Patient', tokens.lab, { resourceType: 'Patient', name: [{ family: 'Alice' }], telecom: [{ system: 'email', value: 'alice@example.org' }] })).body.id;
    obs = (await send(server, 'post', 'Observation', tokens.lab, { resourceType: 'Observation', status: 'final', code: { text: 'glycémie' }, subject: { reference: `Patient/${alice}` } })).body.id;
    tokens.alice = await server.patientToken(alice);
  });
  afterAll(async () => {
    await server.close();
    await sink.close();
  });

  it('a read by someone else is in X\'s history as soon as it is answered', async () => {
    expect((await get(server, `Observation/${obs}`, tokens.lab)).status).toBe(200);
    const [latest] = await history();
    expect(latest).toMatchObject({ subtype: [{ code: 'read' }], action: 'R', outcome: '0' });
    expect(latest.agent[0].who?.identifier?.value).toBe('lab-a');
  });

  it('a refused attempt is in X\'s history with outcome 4', async () => {
    const res = await get(server, `Observation/${obs}`, tokens.practitioner);
    expect(res.status).toBeGreaterThanOrEqual(400);
    const [latest] = await history();
    expect(latest).toMatchObject({ outcome: '4', agent: [{ who: { reference: 'Practitioner/p1' } }] });
  });

  it.each([
    ['an unknown X-Purpose-Of-Use', { 'X-Purpose-Of-Use': 'RESEARCH' }],
    ['break-glass without a reason', { 'X-Purpose-Of-Use': 'BTG' }],
  ])('%s: 400, and the refused attempt is in X\'s history', async (_name, headers) => {
    const before = (await history('&_total=accurate&_count=1000')).length;
    const res = await get(server, `Observation/${obs}`, tokens.practitioner).set(headers);
    expect(res.status).toBe(400);
    const [latest, ...rest] = await history('&_total=accurate&_count=1000');
    expect(rest.length).toBe(before);
    expect(latest).toMatchObject({ outcome: '4', outcomeDesc: 'HTTP 400', agent: [{ who: { reference: 'Practitioner/p1' } }] });
  });

  it('X\'s own requests are not in X\'s history', async () => {
    const before = (await history('&_total=accurate')).length;
    await get(server, `Observation/${obs}`, tokens.alice);
    expect((await history('&_total=accurate')).length).toBe(before);
  });

  it.each([
    ['a practitioner', 'practitioner'],
    ['a system client', 'lab'],
  ])('%s searching X\'s history → 403', async (_name, who) => {
    expect((await get(server, `AuditEvent?patient=Patient/${alice}`, tokens[who])).status).toBe(403);
  });

  it('AuditEvent writes → 405', async () => {
    const [event] = await history();
    expect((await send(server, 'post', 'AuditEvent', tokens.lab, event)).status).toBe(405);
    expect((await send(server, 'put', `AuditEvent/${event.id}`, tokens.alice, event)).status).toBe(405);
    expect((await server.request.delete(`/fhir/AuditEvent/${event.id}`).set('Authorization', `Bearer ${tokens.alice}`)).status).toBe(405);
  });

  it('25 concurrent reads: all audited, the chain verifies', async () => {
    const before = (await get(server, `Patient/${alice}/$verify-audit`, tokens.alice)).body as Parameters;
    const count = (p: Parameters) => p.parameter?.find((x) => x.name === 'events')?.valueInteger ?? 0;
    const results = await Promise.all(Array.from({ length: 25 }, () => get(server, `Observation/${obs}`, tokens.lab)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const after = (await get(server, `Patient/${alice}/$verify-audit`, tokens.alice)).body as Parameters;
    expect(after.parameter?.[0]).toEqual({ name: 'result', valueBoolean: true });
    expect(count(after)).toBe(count(before) + 25);
    expect((await get(server, `Patient/${alice}/$verify-audit`, tokens.practitioner)).status).toBe(404); // test/audit/verify-access.test.ts
  });

  it('a rolled-back transaction: its entries stay audited, with the transaction\'s failure', async () => {
    const observation = (status: string) => ({ resourceType: 'Observation', status, code: { text: 'poids' }, subject: { reference: `Patient/${alice}` } });
    const second = (await send(server, 'post', 'Observation', tokens.lab, observation('final'))).body.id as string;
    const version = async () => (await get(server, `Observation/${obs}`, tokens.lab)).body.meta.versionId;
    const [versionBefore, before] = [await version(), await history('&subtype=update')];
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...observation('amended'), id: obs }, request: { method: 'PUT', url: `Observation/${obs}` } },
        { resource: { ...observation('not-a-status'), id: second }, request: { method: 'PUT', url: `Observation/${second}` } },
      ],
    };
    const res = await send(server, 'post', '', tokens.lab, bundle);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await version()).toBe(versionBefore); // rolled back
    const updates = (await history('&subtype=update')).slice(0, -before.length || undefined);
    expect(updates.map((e) => [e.action, e.outcome])).toEqual([['U', '4']]);
    const references = updates.flatMap((e) => (e.entity ?? []).map((x) => x.what?.reference));
    expect(references).toEqual(expect.arrayContaining([`Observation/${obs}`, `Observation/${second}`]));
  });

  it('a transaction is one AuditEvent per patient and kind of entry, listing every resource touched', async () => {
    const bob = (await send(server, 'post', 'Patient', tokens.lab, { resourceType: 'Patient', name: [{ family: 'Bob' }] })).body.id as string;
    const observation = (patient: string, n: number) => ({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      resource: { resourceType: 'Observation', status: 'final', code: { text: `mesure ${n}` }, subject: { reference: `Patient/${patient}` } },
      request: { method: 'POST', url: 'Observation' },
    });
    const before = await history('&_total=accurate&_count=1000');
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [...[1, 2, 3, 4, 5].map((n) => observation(alice, n)), observation(bob, 6), { request: { method: 'GET', url: `Observation?subject=Patient/${alice}` } }] };
    const res = await send(server, 'post', '', tokens.lab, bundle).set('Prefer', 'return=minimal');
    expect(res.status).toBe(200);
    const created = ((res.body as Bundle).entry ?? []).slice(0, 5).map((e) => /Observation\/[^/]+/.exec(e.response?.location ?? '')?.[0]);
    const added = (await history('&_total=accurate&_count=1000')).slice(0, -before.length || undefined);
    expect(added.map((e) => [e.subtype?.[0].code, e.action, e.outcome]).sort()).toEqual([['create', 'C', '0'], ['search-type', 'E', '0']]);
    const create = added.find((e) => e.subtype?.[0].code === 'create') as AuditEvent;
    const references = (create.entity ?? []).map((x) => x.what?.reference?.replace(/\/_history\/.*$/, ''));
    expect(references).toEqual([`Patient/${alice}`, ...created]);
    const search = added.find((e) => e.subtype?.[0].code === 'search-type') as AuditEvent;
    const query = (search.entity ?? []).find((x) => x.query)?.query as string;
    expect(Buffer.from(query, 'base64').toString()).toBe(`Observation?subject=Patient%2F${alice}`);
    const bobsToken = await server.patientToken(bob);
    const bobs = ((await get(server, `AuditEvent?patient=Patient/${bob}`, bobsToken)).body as Bundle).entry ?? [];
    expect(bobs.map((e) => (e.resource as AuditEvent).subtype?.[0].code)).toEqual(['create', 'create']); // his Patient, then the transaction
  });

  it('a batch: entries that succeed and fail for one patient are two events, with their own outcomes', async () => {
    const before = await history('&_total=accurate&_count=1000');
    const bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'a' }, subject: { reference: `Patient/${alice}` } }, request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'b' }, subject: { reference: `Patient/${alice}` } }, request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'Observation', status: 'bogus', code: { text: 'c' }, subject: { reference: `Patient/${alice}` } }, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const res = await send(server, 'post', '', tokens.lab, bundle);
    expect(res.status).toBe(200);
    const added = (await history('&_total=accurate&_count=1000')).slice(0, -before.length || undefined);
    expect(added.map((e) => [e.subtype?.[0].code, e.outcome, (e.entity ?? []).length]).sort()).toEqual([['create', '0', 3], ['create', '4', 1]]);
  });

  it('the in-process worker mails X', async () => {
    for (let i = 0; i < 100 && sink.messages.length === 0; i++) await sleep(50);
    expect(sink.messages.length).toBeGreaterThan(0);
    expect(sink.messages[0].to).toEqual(['alice@example.org']);
  });
});
