/**
 * Every paging link is sealed (kernel/sealed.ts): the `next` link of a
 * history, of `$everything` and of the activity history carries no row
 * number, sequence number or time in clear, still leads to the next page,
 * and a token that was not made by the server (a bare number, the old clear
 * format, a changed byte) is a 400 naming the parameter.
 */
import { get, send, startTestServer, type TestServer } from '../support/server';

const NIR = 'urn:oid:1.2.250.1.213.1.4.8';

describe('paging links carry sealed tokens', () => {
  let server: TestServer;
  let op: string;
  let patientToken: string;
  let patientId: string;

  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('hospital-a');
    const created = await send(server, 'post', 'Patient', op, { resourceType: 'Patient', identifier: [{ system: NIR, value: '280057512345678' }], name: [{ family: 'Paging' }] });
    patientId = created.body.id as string;
    for (let i = 0; i < 3; i++) {
      await send(server, 'post', 'Organization', op, { resourceType: 'Organization', name: `Paging ${i}` });
      await send(server, 'post', 'Observation', op, { resourceType: 'Observation', status: 'final', code: { text: `obs ${i}` }, subject: { reference: `Patient/${patientId}` } });
    }
    patientToken = await server.patientToken(patientId);
  });
  afterAll(() => server.close());

  /** The three kinds of paged answers: path of the first page, the token's parameter, who reads it. */
  const pagings = (): Array<[string, string, string, () => string]> => [
    ['type history', 'Organization/_history?_count=1', '_cursor', () => op],
    ['system history', '_history?_count=1', '_cursor', () => op],
    ['$everything', `Patient/${patientId}/$everything?_count=1`, '_cursor', () => op],
    ['activity history', `AuditEvent?patient=Patient/${patientId}&_count=1`, '_page', () => patientToken],
  ];

  const nextOf = (body: { link?: Array<{ relation: string; url: string }> }) => body.link?.find((l) => l.relation === 'next')?.url;

  it.each(pagings().map(([name]) => [name]))('%s: the next link holds an opaque token that leads to the next page', async (name) => {
    const [, path, parameter, token] = pagings().find(([n]) => n === name)!;
    const first = await get(server, path, token());
    expect(first.status).toBe(200);
    const next = nextOf(first.body);
    expect(next).toBeDefined();
    const value = new URL(next!).searchParams.get(parameter)!;
    expect(value).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(Buffer.from(value, 'base64url').toString('latin1')).not.toMatch(/\d{4}-\d{2}-\d{2}|"s"|"r"/); // no time, no key in clear
    const second = await get(server, next!.slice(next!.indexOf('/fhir/') + '/fhir/'.length), token());
    expect(second.status).toBe(200);
    expect(second.body.entry).toHaveLength(1);
    expect(second.body.entry[0].fullUrl).not.toBe(first.body.entry[0].fullUrl);
  });

  const forgeries = (value: string): Array<[string, string]> => [
    ['a bare number', '12'],
    ['the old clear format', Buffer.from(JSON.stringify({ r: new Date().toISOString(), s: 12 })).toString('base64url')],
    ['one byte changed', value.slice(0, -2) + (value.endsWith('AA') ? 'BB' : 'AA')],
    ['garbage', 'not-a-token!'],
  ];

  it.each(pagings().map(([name]) => [name]))('%s: a token the server did not make is a 400 naming the parameter', async (name) => {
    const [, path, parameter, token] = pagings().find(([n]) => n === name)!;
    const first = await get(server, path, token());
    const value = new URL(nextOf(first.body)!).searchParams.get(parameter)!;
    for (const [, forged] of forgeries(value)) {
      const res = await get(server, `${path}&${parameter}=${encodeURIComponent(forged)}`, token());
      expect(res.status).toBe(400);
      expect(res.body.issue[0].expression).toEqual([parameter]);
    }
  });
});
