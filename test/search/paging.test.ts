/** _sort, _count, keyset paging (next/previous stay correct while data changes) and _total. */
import { searchServer, seeded, params, type SearchServer } from './fixtures';
import { allowAll } from '../../src/kernel/predicate';
import { SqlSearchEngine } from '../../src/search/engine';
import type { QueryParams } from '../../src/kernel/request';
import type { SearchEngine } from '../../src/kernel/ports';

describe('_sort', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  it.each([
    ['Patient', '_sort=birthdate', ['p2', 'p1', 'p3', 'p4']],
    ['Patient', '_sort=-birthdate', ['p3', 'p1', 'p2', 'p4']],
    ['Patient', '_sort=family', ['p3', 'p1', 'p4', 'p2']],
    ['Patient', '_sort=-family', ['p2', 'p4', 'p1', 'p3']],
    ['Patient', '_sort=gender,-birthdate', ['p3', 'p1', 'p2', 'p4']],
    ['Patient', '_sort=gender&_sort=birthdate', ['p1', 'p3', 'p2', 'p4']],
    ['Patient', '_sort=_id', ['p1', 'p2', 'p3', 'p4']],
    ['Patient', '_sort=-_lastUpdated', ['p4', 'p3', 'p2', 'p1']],
    ['Patient', '_sort=organization', ['p1', 'p2', 'p3', 'p4']],
    ['Observation', '_sort=-date', ['obs2', 'obs4', 'obs1', 'obs3']], // descending: by the end of each value's range
    ['Observation', '_sort=date', ['obs3', 'obs4', 'obs1', 'obs2']],
    ['Observation', '_sort=value-quantity', ['obs3', 'obs4', 'obs1', 'obs2']],
    ['RiskAssessment', '_sort=-probability', ['ra2', 'ra3', 'ra1']],
    ['Questionnaire', '_sort=-url', ['q2', 'q1']],
  ])('%s?%s', async (type, query, expected) => {
    expect(await b.ids(type, query)).toEqual(expected);
  });
});

describe('paging', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await searchServer();
    for (let i = 0; i < 25; i++) {
      await b.put({ resourceType: 'Patient', id: `pat-${String(i).padStart(2, '0')}`, name: [{ family: `F${String(i % 10)}` }], birthDate: `19${50 + (i % 7)}` });
    }
  });
  afterAll(() => b.close());

  const page = (query: QueryParams) => b.engine.search({ resourceType: 'Patient', query, access: () => allowAll });

  async function walk(query: string, between?: (pageNumber: number) => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    let next: QueryParams | undefined = params(query);
    for (let n = 0; next && n < 100; n++) {
      const result = await page(next);
      seen.push(...result.matches.map((r) => r.id));
      if (between) await between(n);
      next = result.next;
    }
    return seen;
  }

  it.each(['_count=4', '_count=4&_sort=family', '_count=3&_sort=-birthdate,family', '_count=7&_sort=-_lastUpdated', '_count=1&_sort=name'])(
    '%s: the next links walk every match once, in the order of one big page',
    async (query) => {
      const all = (await page(params(`${query.replace(/_count=\d+/, '_count=1000')}`))).matches.map((r) => r.id);
      expect(all).toHaveLength(25);
      expect(await walk(query)).toEqual(all);
    },
  );

  it('previous links walk back the same pages', async () => {
    const first = await page(params('_count=4&_sort=family'));
    const second = await page(first.next!);
    const third = await page(second.next!);
    expect(first.previous).toBeUndefined();
    const back = await page(third.previous!);
    expect(back.matches.map((r) => r.id)).toEqual(second.matches.map((r) => r.id));
    const start = await page(back.previous!);
    expect(start.matches.map((r) => r.id)).toEqual(first.matches.map((r) => r.id));
    expect(start.previous).toBeUndefined();
    expect((await page(start.next!)).matches.map((r) => r.id)).toEqual(second.matches.map((r) => r.id));
  });

  it('stays correct while data changes: no duplicate, no skip of rows that stayed in place', async () => {
    const before = (await page(params('_count=1000&_sort=family'))).matches.map((r) => r.id);
    const removed = before[10];
    const seen = await walk('_count=4&_sort=family', async (n) => {
      if (n === 0) {
        await b.put({ resourceType: 'Patient', id: 'early', name: [{ family: 'A0' }] }); // sorts before the cursor
        await b.put({ resourceType: 'Patient', id: 'late', name: [{ family: 'Z9' }] }); // sorts after it
        await b.remove('Patient', removed);
      }
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).not.toContain('early');
    expect(seen).toContain('late');
    expect(seen).not.toContain(removed);
    expect(seen.filter((id) => id !== 'late')).toEqual(before.filter((id) => id !== removed));
  });

  it('keeps the self link without the dropped parameters and with the cursor of the page', async () => {
    const first = await page(params('_count=4&unknown=1'));
    expect(first.selfQuery).toEqual([['_count', '4']]);
    expect(first.next?.filter(([k]) => k === '_cursor')).toHaveLength(1);
    const second = await page(first.next!);
    expect(second.selfQuery).toEqual(first.next);
  });
});

describe('order-first paging (large result sets read through the sort index)', () => {
  let b: SearchServer;
  let orderFirst: SqlSearchEngine;
  let tinyChunks: SqlSearchEngine;
  beforeAll(async () => {
    b = await searchServer();
    orderFirst = new SqlSearchEngine(b.server.carnet.sql, b.registry, { orderedScan: { threshold: 0 } });
    tinyChunks = new SqlSearchEngine(b.server.carnet.sql, b.registry, { orderedScan: { threshold: 0, chunk: 2, rounds: 2 } });
    for (let i = 0; i < 30; i++) {
      const name = i % 5 === 0 ? undefined : [{ family: `F${i % 4}`, given: i % 3 === 0 ? ['Zed', 'Abel'] : ['Max'] }];
      const period = i % 6 === 0 ? undefined : { start: `20${10 + (i % 8)}-01-01`, end: i % 2 ? `20${12 + (i % 8)}-06` : undefined };
      await b.put({ resourceType: 'Encounter', id: `e${i}`, status: i % 2 ? 'finished' : 'planned', class: { code: 'AMB' }, period, ...(name ? { text: { status: 'generated', div: '<div/>' } } : {}) });
      await b.put({ resourceType: 'Patient', id: `pt${i}`, name, birthDate: i % 7 === 0 ? undefined : `19${60 + (i % 9)}`, gender: i % 2 ? 'male' : 'female' });
    }
  });
  afterAll(() => b.close());

  async function walk(engine: SearchEngine, type: string, query: string, direction: 'next' | 'previous'): Promise<string[]> {
    const seen: string[] = [];
    let first = await engine.search({ resourceType: type, query: params(query), access: () => allowAll });
    if (direction === 'previous') {
      while (first.next) first = await engine.search({ resourceType: type, query: first.next, access: () => allowAll });
    }
    let current: typeof first | undefined = first;
    for (let n = 0; current && n < 100; n++) {
      const ids = current.matches.map((r) => r.id);
      if (direction === 'next') seen.push(...ids);
      else seen.unshift(...ids);
      const link: QueryParams | undefined = direction === 'next' ? current.next : current.previous;
      current = link ? await engine.search({ resourceType: type, query: link, access: () => allowAll }) : undefined;
    }
    return seen;
  }

  it.each([
    ['Encounter', '_sort=-date&_count=4'],
    ['Encounter', '_sort=date&_count=3'],
    ['Encounter', '_sort=date&status=finished&_count=2'],
    ['Patient', '_sort=given&_count=4'],
    ['Patient', '_sort=-given&_count=5'],
    ['Patient', '_sort=-birthdate&gender=male&_count=3'],
    ['Patient', '_sort=name&_count=1'],
  ])('%s?%s: the same order as filter-first, forwards and backwards', async (type, query) => {
    const expected = (await b.engine.search({ resourceType: type, query: params(query.replace(/_count=\d+/, '_count=100')), access: () => allowAll })).matches.map((r) => r.id);
    expect(await walk(b.engine, type, query, 'next')).toEqual(expected);
    expect(await walk(orderFirst, type, query, 'next')).toEqual(expected);
    expect(await walk(orderFirst, type, query, 'previous')).toEqual(expected);
    expect(await walk(tinyChunks, type, query, 'next')).toEqual(expected);
    expect(await walk(tinyChunks, type, query, 'previous')).toEqual(expected);
    expect(await walk(b.engine, type, query, 'previous')).toEqual(expected);
  });
});

describe('_count and _total', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  it.each([
    ['_count=2', 2, 4, true],
    ['_count=2&_total=accurate', 2, 4, true],
    ['_count=10', 4, 4, false],
    ['_count=0', 0, 4, false],
    ['_summary=count', 0, 4, false],
    ['_count=2&_total=none', 2, undefined, true],
    ['gender=male&_count=1', 1, 2, true],
    ['_count=5000', 4, 4, false],
  ])('Patient?%s → %d entries, total %p', async (query, entries, total, hasNext) => {
    const result = await b.search('Patient', query);
    expect(result.matches).toHaveLength(entries);
    expect(result.total).toBe(total);
    expect(result.next !== undefined).toBe(hasNext);
  });

  it('gives an estimate from the planner for _total=estimate', async () => {
    const result = await b.search('Patient', '_total=estimate&_count=1');
    expect(typeof result.total).toBe('number');
  });

  it('counts on later pages too', async () => {
    const first = await b.search('Patient', '_count=3');
    const second = await b.engine.search({ resourceType: 'Patient', query: first.next!, access: () => allowAll });
    expect(second.total).toBe(4);
    expect(second.matches).toHaveLength(1);
    expect(second.next).toBeUndefined();
  });
});
