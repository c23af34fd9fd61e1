/**
 * CONTRACT §6 and §4.3: X's activity history (`GET /fhir/AuditEvent?patient=…`)
 * is readable only by X and X's legal representatives — anyone else is 403
 * on the search and 404 on a read — with date, agent, action, subtype filters,
 * `_sort=-date` by default and keyset `next` links; AuditEvent writes are 405.
 */
import type { AuditEvent, Bundle } from 'fhir/r4';
import { FhirError } from '../../src/kernel/errors';
import type { FhirResponse, Method, QueryParams } from '../../src/kernel/request';
import type { Caller } from '../../src/kernel/caller';
import { callers, observationFor, patientResource, startHarness, type Harness } from './harness';

let h: Harness;
let alice: string;
let bob: string;
let carol: string;
let firstEvent: AuditEvent;
let p1: Caller;
const start = new Date();

const statusOf = (result: FhirResponse | FhirError) => result.status;
const bundleOf = (result: FhirResponse | FhirError) => (result as FhirResponse).body as Bundle;
const eventsOf = (result: FhirResponse | FhirError) => (bundleOf(result).entry ?? []).map((e) => e.resource as AuditEvent);

beforeAll(async () => {
  h = await startHarness();
  alice = (await h.seed(patientResource('Alice'))).id;
  bob = (await h.seed(patientResource('Bob'))).id;
  carol = (await h.seed(patientResource('Carol'))).id;
  // médecins: p1 authorized by all three, p2 by Carol; Carol blocked 'blocked'
  p1 = await h.practitioner('p1');
  const p2 = await h.practitioner('p2');
  const blocked = await h.practitioner('blocked');
  for (const patient of [alice, bob, carol]) await h.authorize(patient, 'p1');
  await h.authorize(carol, 'p2');
  await h.block(carol, 'blocked');
  const aliceObs = (await h.seed(observationFor(alice))).id;
  await h.call(p1, 'GET', `Observation/${aliceObs}`);
  // Carol's history, kept apart from the access checks below (which add to Alice's):
  // 3 reads by p1, a search by p2, a denied read by 'blocked', an update by p1 (of what he recorded)
  const carolObs = (await h.seed(observationFor(carol), 'Practitioner/p1')).id;
  for (let i = 0; i < 3; i++) await h.call(p1, 'GET', `Observation/${carolObs}`);
  await h.call(p2, 'GET', 'Observation', { query: [['patient', carol]] });
  await h.call(blocked, 'GET', `Observation/${carolObs}`);
  expect((await h.call(p1, 'PUT', `Observation/${carolObs}`, { body: { ...observationFor(carol), id: carolObs } })).status).toBe(200);
  await h.call(p1, 'GET', `Patient/${bob}`);
  firstEvent = eventsOf(await h.call(callers.patient(alice), 'GET', 'AuditEvent', { query: [['patient', alice], ['_sort', 'date'], ['_count', '1']] }))[0];
});
afterAll(() => h.close());

describe('who reads X\'s activity history', () => {
  it.each<[string, number, () => Caller, () => QueryParams]>([
    ['patient X, patient=Patient/X', 200, () => callers.patient(alice), () => [['patient', `Patient/${alice}`]]],
    ['patient X, patient=X', 200, () => callers.patient(alice), () => [['patient', alice]]],
    ['patient X, no patient parameter (own history)', 200, () => callers.patient(alice), () => []],
    ['X\'s legal representative', 200, () => callers.representative('r1', alice), () => [['patient', `Patient/${alice}`]]],
    ['another patient', 403, () => callers.patient(bob), () => [['patient', `Patient/${alice}`]]],
    ['another patient\'s representative', 403, () => callers.representative('r2', bob), () => [['patient', alice]]],
    ['a practitioner, even one who read X\'s data', 403, () => p1, () => [['patient', `Patient/${alice}`]]],
    ['a practitioner, no patient parameter', 403, () => p1, () => []],
    ['a system client (operator)', 403, () => callers.system('ops', 'system/*.*'), () => [['patient', `Patient/${alice}`]]],
    ['patient X naming X and someone else', 403, () => callers.patient(alice), () => [['patient', `${alice},${bob}`]]],
    ['patient X with scopes without AuditEvent', 403, () => ({ ...callers.patient(alice), scopes: [] }), () => [['patient', alice]]],
  ])('search by %s → %i', async (_name, status, caller, query) => {
    expect(statusOf(await h.call(caller(), 'GET', 'AuditEvent', { query: query() }))).toBe(status);
  });

  it.each<[string, number, () => Caller]>([
    ['patient X', 200, () => callers.patient(alice)],
    ['X\'s legal representative', 200, () => callers.representative('r1', alice)],
    ['another patient', 404, () => callers.patient(bob)],
    ['a practitioner', 404, () => p1],
    ['a system client', 404, () => callers.system('ops', 'system/*.*')],
  ])('read by id by %s → %i', async (_name, status, caller) => {
    const result = await h.call(caller(), 'GET', `AuditEvent/${firstEvent.id}`);
    expect(statusOf(result)).toBe(status);
    if (status === 200) expect((result as FhirResponse).body).toEqual(firstEvent);
    expect(statusOf(await h.call(caller(), 'GET', `AuditEvent/${firstEvent.id}/_history/1`))).toBe(status);
  });

  it.each<[Method, string, () => string]>([
    ['POST', 'AuditEvent', () => 'AuditEvent'],
    ['PUT', 'AuditEvent/{id}', () => `AuditEvent/${firstEvent.id}`],
    ['PATCH', 'AuditEvent/{id}', () => `AuditEvent/${firstEvent.id}`],
    ['DELETE', 'AuditEvent/{id}', () => `AuditEvent/${firstEvent.id}`],
    ['PUT', 'AuditEvent?…', () => 'AuditEvent'],
    ['DELETE', 'AuditEvent?…', () => 'AuditEvent'],
  ])('%s %s → 405 for everyone', async (method, _label, path) => {
    for (const caller of [callers.patient(alice), callers.system('ops', 'system/*.*'), p1]) {
      const result = await h.call(caller, method, path(), { body: method === 'PATCH' ? [] : firstEvent, query: method === 'DELETE' && path() === 'AuditEvent' ? [['patient', alice]] : [] });
      expect(statusOf(result)).toBe(405);
    }
  });
});

describe('X\'s activity history: filters, order, paging', () => {
  const search = (query: QueryParams) => h.call(callers.patient(carol), 'GET', 'AuditEvent', { query });

  it('lists only X\'s events, newest first by default', async () => {
    const events = eventsOf(await search([['patient', carol]]));
    expect(events).toHaveLength(6);
    expect(events.every((e) => e.entity?.[0].what?.reference === `Patient/${carol}`)).toBe(true);
    const dates = events.map((e) => e.recorded);
    expect([...dates].sort().reverse()).toEqual(dates);
  });

  it.each<[string, () => QueryParams, number]>([
    ['agent=Practitioner/p1', () => [['agent', 'Practitioner/p1']], 4],
    ['agent=p2', () => [['agent', 'p2']], 1],
    ['agent=p1,p2', () => [['agent', 'p1,p2']], 5],
    ['action=R', () => [['action', 'R']], 4],
    ['action=E', () => [['action', 'E']], 1],
    ['action=U', () => [['action', 'U']], 1],
    ['subtype=read', () => [['subtype', 'read']], 4],
    ['subtype=http://hl7.org/fhir/restful-interaction|update', () => [['subtype', 'http://hl7.org/fhir/restful-interaction|update']], 1],
    ['outcome=4', () => [['outcome', '4']], 1],
    ['date=ge(start)', () => [['date', `ge${start.toISOString()}`]], 6],
    ['date=lt(start)', () => [['date', `lt${start.toISOString()}`]], 0],
    ['date=today (day precision)', () => [['date', new Date().toISOString().slice(0, 10)]], 6],
    ['date=le2000', () => [['date', 'le2000']], 0],
    ['agent=p1 & action=U', () => [['agent', 'p1'], ['action', 'U']], 1],
  ])('%s', async (_name, query, count) => {
    expect(eventsOf(await search([['patient', carol], ...query()]))).toHaveLength(count);
  });

  it.each<[string, QueryParams]>([
    ['bad date', [['date', 'yesterday']]],
    ['bad action', [['action', 'X']]],
    ['bad _sort', [['_sort', 'agent']]],
    ['bad _count', [['_count', 'many']]],
    ['bad cursor', [['_page', 'garbage']]],
  ])('%s → 400', async (_name, query) => {
    expect(statusOf(await search([['patient', carol], ...query]))).toBe(400);
  });

  it('unknown parameters: ignored when lenient, 400 when strict', async () => {
    expect(statusOf(await search([['patient', carol], ['color', 'blue']]))).toBe(200);
    const strict = await h.call(callers.patient(carol), 'GET', 'AuditEvent', { query: [['patient', carol], ['color', 'blue']], headers: { prefer: 'handling=strict' } });
    expect(statusOf(strict)).toBe(400);
  });

  it.each([['-date'], ['date']])('pages with _count and next links (_sort=%s), no event twice or missed', async (sort) => {
    const all = eventsOf(await search([['patient', carol], ['_sort', sort]])).map((e) => e.id);
    const seen: string[] = [];
    let query: QueryParams = [['patient', `Patient/${carol}`], ['_sort', sort], ['_count', '4']];
    for (let page = 0; page < 5; page++) {
      const bundle = bundleOf(await search(query));
      seen.push(...(bundle.entry ?? []).map((e) => e.resource?.id as string));
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      expect(next.startsWith('http://carnet.test/fhir/AuditEvent?')).toBe(true);
      query = [...new URL(next).searchParams];
    }
    expect(seen).toEqual(all);
  });

  it('_id finds one event of the history (OR-lists too); an id of another patient\'s event finds nothing', async () => {
    const all = eventsOf(await search([['patient', carol]]));
    const [first, second] = all.map((e) => e.id as string);
    expect(eventsOf(await search([['patient', carol], ['_id', first]])).map((e) => e.id)).toEqual([first]);
    expect(eventsOf(await search([['patient', carol], ['_id', `${second},${first}`]])).map((e) => e.id).sort()).toEqual([first, second].sort());
    expect(eventsOf(await search([['patient', carol], ['_id', firstEvent.id as string]]))).toHaveLength(0); // Alice's
    expect(statusOf(await search([['patient', carol], ['_id', 'bad id!']]))).toBe(400);
  });

  it('_total=accurate counts the filtered history', async () => {
    const bundle = bundleOf(await search([['patient', carol], ['agent', 'p1'], ['_total', 'accurate'], ['_count', '1']]));
    expect(bundle.total).toBe(4);
    expect(bundle.entry).toHaveLength(1);
  });

  it('a legal representative\'s reading of the history is itself in the history; X\'s own is not', async () => {
    const before = eventsOf(await search([['patient', carol]])).length;
    await h.call(callers.patient(carol), 'GET', 'AuditEvent', { query: [['patient', carol]] });
    expect(eventsOf(await search([['patient', carol]]))).toHaveLength(before);
    await h.call(callers.representative('r1', carol), 'GET', 'AuditEvent', { query: [['patient', carol]] });
    const after = eventsOf(await search([['patient', carol]]));
    expect(after).toHaveLength(before + 1);
    expect(after[0].agent[0].who?.reference).toBe('RelatedPerson/r1');
  });
});
