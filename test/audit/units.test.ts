/**
 * The pure parts of the audit: which restful interaction a request is, the
 * BALP outcome of a status, date precision in the history search, and the
 * chain walk's verdicts.
 */
import { interactionOf, outcomeOf, type Action } from '../../src/audit/event';
import { dateRange } from '../../src/audit/history-query';
import { ChainWalk, linkHash, type ChainLink } from '../../src/audit/chain';
import { groupIntoMails } from '../../src/notify/worker';
import type { OutboxItem } from '../../src/notify/outbox';
import type { FhirRequest, Method } from '../../src/kernel/request';

const request = (method: Method, path: string): FhirRequest => ({ method, path, query: [], headers: {} });

describe('restful interaction of a request', () => {
  it.each<[Method, string, number, string, Action]>([
    ['GET', 'Observation/1', 200, 'read', 'R'],
    ['HEAD', 'Observation/1', 200, 'read', 'R'],
    ['GET', 'Observation/1/_history/2', 200, 'vread', 'R'],
    ['GET', 'Observation/1/_history', 200, 'history-instance', 'R'],
    ['GET', 'Observation/_history', 200, 'history-type', 'R'],
    ['GET', '_history', 200, 'history-system', 'R'],
    ['GET', 'Observation', 200, 'search-type', 'E'],
    ['POST', 'Observation/_search', 200, 'search-type', 'E'],
    ['GET', '', 200, 'search-system', 'E'],
    ['POST', 'Observation', 201, 'create', 'C'],
    ['PUT', 'Observation/1', 200, 'update', 'U'],
    ['PUT', 'Observation/1', 201, 'update', 'C'],
    ['PATCH', 'Observation/1', 200, 'patch', 'U'],
    ['DELETE', 'Observation/1', 204, 'delete', 'D'],
    ['GET', 'Patient/1/$everything', 200, 'operation', 'E'],
    ['GET', 'Patient/1/$verify-audit', 200, 'operation', 'E'],
  ])('%s %s (%i) → %s, %s', (method, path, status, subtype, action) => {
    expect(interactionOf(request(method, path), status)).toMatchObject({ subtype, action });
  });

  it.each([[200, '0'], [304, '0'], [403, '4'], [404, '4'], [422, '4'], [500, '8'], [503, '8']])('HTTP %i → outcome %s', (status, outcome) => {
    expect(outcomeOf(status)).toBe(outcome);
  });
});

describe('date precision in the history search', () => {
  it.each([
    ['2026', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-02', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['2026-12-31', '2026-12-31T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-11-26T10:15', '2026-11-26T10:15:00.000Z', '2026-11-26T10:16:00.000Z'],
    ['2026-11-26T10:15:30Z', '2026-11-26T10:15:30.000Z', '2026-11-26T10:15:31.000Z'],
    ['2026-11-26T10:15:30+01:00', '2026-11-26T09:15:30.000Z', '2026-11-26T09:15:31.000Z'],
    ['2026-11-26T10:15:30.250Z', '2026-11-26T10:15:30.250Z', '2026-11-26T10:15:30.251Z'],
  ])('%s → [%s, %s)', (value, lo, hi) => {
    const range = dateRange(value);
    expect([range.lo.toISOString(), range.hi.toISOString()]).toEqual([lo, hi]);
  });
});

describe('the chain walk', () => {
  const chain = (n: number): ChainLink[] => {
    const links: ChainLink[] = [];
    let previous = '';
    for (let position = 1; position <= n; position++) {
      const content = JSON.stringify({ resourceType: 'AuditEvent', id: `e${position}` });
      const hash = linkHash(previous, 'x', position, content);
      links.push({ id: `e${position}`, position, prevHash: previous, hash, content });
      previous = hash;
    }
    return links;
  };
  const walk = (links: ChainLink[], head: { position: number; hash: string } | undefined) => {
    const w = new ChainWalk('x');
    for (const link of links) if (!w.next(link)) break;
    return w.finish(head);
  };

  it.each<[string, (links: ChainLink[]) => ChainLink[], (links: ChainLink[]) => { position: number; hash: string } | undefined, string | undefined, number | undefined]>([
    ['intact', (l) => l, (l) => ({ position: 4, hash: l[3].hash }), undefined, undefined],
    ['no events, no head', () => [], () => undefined, undefined, undefined],
    ['content altered', (l) => l.map((x, i) => (i === 1 ? { ...x, content: x.content.replace('e2', 'e9') } : x)), (l) => ({ position: 4, hash: l[3].hash }), 'content-altered', 2],
    ['a middle event removed', (l) => l.filter((_, i) => i !== 2), (l) => ({ position: 4, hash: l[3].hash }), 'event-missing', 3],
    ['the last event removed', (l) => l.slice(0, 3), (l) => ({ position: 4, hash: l[3].hash }), 'head-mismatch', 4],
    ['rewritten with its own hash recomputed', (l) => l.map((x, i) => (i === 0 ? { ...x, content: '{}', hash: linkHash('', 'x', 1, '{}') } : x)), (l) => ({ position: 4, hash: l[3].hash }), 'link-broken', 2],
  ])('%s', (_name, alter, head, reason, position) => {
    const links = chain(4);
    const broken = walk(alter(links), head(links));
    expect(broken?.reason).toBe(reason);
    expect(broken?.position).toBe(position);
  });

  it('a chain hashed for another patient does not verify', () => {
    const links = chain(2);
    const w = new ChainWalk('y');
    w.next(links[0]);
    expect(w.finish({ position: 2, hash: links[1].hash })?.reason).toBe('content-altered');
  });
});

describe('grouping claimed rows into mails', () => {
  const item = (id: number, patientId: string, emergency = false): OutboxItem => ({ id, auditSeq: id, patientId, emergency, attempts: 1, recorded: new Date(), agent: 'Practitioner/p', action: 'R', subtype: 'read', outcome: 0, purpose: emergency ? 'BTG' : 'TREAT' });
  it.each<[string, boolean, OutboxItem[], number[][]]>([
    ['no digest: one mail per action', false, [item(1, 'a'), item(2, 'a'), item(3, 'b')], [[1], [2], [3]]],
    ['digest: one mail per patient', true, [item(1, 'a'), item(2, 'b'), item(3, 'a')], [[1, 3], [2]]],
    ['digest: emergencies alone', true, [item(1, 'a'), item(2, 'a', true), item(3, 'a')], [[2], [1, 3]]],
  ])('%s', (_name, digest, items, expected) => {
    expect(groupIntoMails(items, digest).map((unit) => unit.items.map((i) => i.id))).toEqual(expected);
  });
});
