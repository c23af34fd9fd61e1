/**
 * CONTRACT §6 over HTTP: requests about X
 * by others are audited before the response, X reads the history with a
 * token, others get 403, AuditEvent writes are 405, $verify-audit answers,
 * concurrent requests keep the chain, a rolled-back transaction's entries stay
 * audited, and the in-process worker mails X through a loopback SMTP server.
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
    expect((await get(server, `Patient/${alice}/$verify-audit`, tokens.practitioner)).status).toBe(403);
  });

  it('a rolled-back transaction: its entries stay audited', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Observation', id: 'tx-kept', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${alice}` } }, request: { method: 'PUT', url: 'Observation/tx-kept' } },
        { resource: { resourceType: 'Observation', id: 'tx-bad', status: 'not-a-status', code: { text: 'x' }, subject: { reference: `Patient/${alice}` } }, request: { method: 'PUT', url: 'Observation/tx-bad' } },
      ],
    };
    const res = await send(server, 'post', '', tokens.lab, bundle);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await get(server, 'Observation/tx-kept', tokens.lab)).status).toBe(404); // rolled back
    const updates = await history('&subtype=update');
    expect(updates.map((e) => [e.action, e.outcome]).sort()).toEqual([['C', '0'], ['U', '4']]);
  });

  it('the in-process worker mails X', async () => {
    for (let i = 0; i < 100 && sink.messages.length === 0; i++) await sleep(50);
    expect(sink.messages.length).toBeGreaterThan(0);
    expect(sink.messages[0].to).toEqual(['alice@example.org']);
  });
});
