/**
 * Search paging cursors are sealed (search/paging.ts): the `next`/`previous`
 * links show no row number or sort value, every server process of one
 * database opens the links of the others, and a cursor that was changed,
 * forged or sealed elsewhere is a 400 OperationOutcome naming `_cursor`.
 */
import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import type { Practitioner } from 'fhir/r4';
import { startTestServer, type TestServer } from '../support/server';
import { CursorCodec } from '../../src/search/paging';
import type { Carnet } from '../../src/server';

type Link = { relation: string; url: string };
const linkOf = (body: { link?: Link[] }, relation: string) => body.link?.find((l) => l.relation === relation)?.url;
const cursorOf = (url: string) => new URL(url).searchParams.get('_cursor') as string;
const ids = (body: { entry?: { resource: { id: string } }[] }) => (body.entry ?? []).map((e) => e.resource.id);

describe('sealed search cursors', () => {
  let server: TestServer;
  let sibling: Carnet;
  let token: string;
  const get = (app: TestServer['request'], url: string) => app.get(url.replace(/^https?:\/\/[^/]+/, '')).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    server = await startTestServer();
    sibling = await server.sibling();
    token = await server.systemToken('cursor-reader', 'system/Practitioner.read');
    for (let i = 0; i < 7; i++) await server.put({ resourceType: 'Practitioner', id: `cur-${i}`, name: [{ family: `Secretname${i}` }] } as Practitioner);
  });
  afterAll(async () => {
    await sibling.close();
    await server.close();
  });

  const FIRST = '/fhir/Practitioner?_count=2&_sort=family';

  it('a next link shows neither row numbers nor sort values, and is the same link each time', async () => {
    const first = await get(server.request, FIRST);
    const again = await get(server.request, FIRST);
    const next = linkOf(first.body, 'next') as string;
    expect(next).toBeDefined();
    expect(linkOf(again.body, 'next')).toBe(next);
    const opened = Buffer.from(cursorOf(next), 'base64url').toString('latin1');
    expect(opened).not.toMatch(/Secretname|"r"|"k"/);
  });

  it('another server process of the same database follows the links', async () => {
    const first = await get(server.request, FIRST);
    const next = linkOf(first.body, 'next') as string;
    const here = await get(server.request, next);
    const there = await get(supertest.agent(sibling.app), next);
    expect(there.status).toBe(200);
    expect(ids(there.body)).toEqual(ids(here.body));
    expect(ids(here.body)).toEqual(['cur-2', 'cur-3']);
  });

  const tampered: [string, (cursor: string) => string][] = [
    ['one byte changed', (c) => {
      const bytes = Buffer.from(c, 'base64url');
      bytes[bytes.length - 1] ^= 1;
      return bytes.toString('base64url');
    }],
    ['cut short', (c) => c.slice(0, c.length - 6)],
    ['the former clear format', () => Buffer.from(JSON.stringify({ v: 1, d: 'n', s: 'family', k: ['Secretname1'], r: 1 })).toString('base64url')],
    ['sealed with another secret', () => new CursorCodec(randomBytes(32)).encode({ direction: 'next', sort: 'family', keys: ['Secretname1'], rid: 1 })],
    ['not base64url', () => 'a+b/c='],
  ];
  it.each(tampered)('a cursor %s → 400 naming _cursor', async (_name, change) => {
    const first = await get(server.request, FIRST);
    const cursor = change(cursorOf(linkOf(first.body, 'next') as string));
    const res = await get(server.request, `${FIRST}&_cursor=${encodeURIComponent(cursor)}`);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression).toEqual(['_cursor']);
  });
});
