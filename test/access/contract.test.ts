/**
 * CONTRACT §4, case by case, below HTTP: for the cast of scenario.ts, each
 * caller's session as the pipeline opens it (production's store, search
 * engine and access policy, test/support/server.ts) — read, search and
 * history under the caller's predicates, and checkPatientSpace. The same
 * table runs over HTTP in http.test.ts.
 */
import { startTestServer, type TestServer } from '../support/server';
import { callerNamed, scenarioWrites, spaceCases, visibilityCases } from './scenario';

describe('CONTRACT §4 in a caller\'s session', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    for (const [resource, by] of scenarioWrites()) await server.put(resource, by);
  });
  afterAll(() => server.close());

  it.each(visibilityCases)('%s sees %s: %s (read, search, history)', async (who, key, visible) => {
    const { store, search, access } = server.session(callerNamed(who));
    const [type, id] = key.split('/');
    const read = await store.read(type, id, access.readable(type));
    const found = await search.search({ resourceType: type, query: [['_id', id]], access: (t) => access.readable(t) });
    const history = await store.history({ resourceType: type, id, count: 10 }, access.readable(type));
    const systemHistory = await store.history({ count: 1000 }, access.readable());
    expect({ read: read !== undefined, search: found.matches.length === 1 && found.total === 1, history: history.length > 0, systemHistory: systemHistory.some((v) => `${v.resourceType}/${v.id}` === key) }).toEqual({
      read: visible,
      search: visible,
      history: visible,
      systemHistory: visible,
    });
  });

  it.each(spaceCases)('%s naming %s\'s space → %i', async (who, patientId, status) => {
    const outcome = await server.session(callerNamed(who)).access.checkPatientSpace(patientId).then(
      () => 200,
      (error: { status?: number }) => error.status,
    );
    expect(outcome).toBe(status);
  });

  it('a search naming no patient returns what the practitioner may see, with an exact total and full pages', async () => {
    const { search, access } = server.session(callerNamed('pharma'));
    const all = await search.search({ resourceType: 'DocumentReference', query: [['_count', '100']], access: (t) => access.readable(t) });
    const page = await search.search({ resourceType: 'DocumentReference', query: [['_count', '2'], ['_total', 'accurate']], access: (t) => access.readable(t) });
    expect(all.matches.map((r) => r.id).sort()).toEqual(['x-cr', 'x-invisible-patient']);
    expect(page.total).toBe(all.matches.length);
    expect(page.matches).toHaveLength(2);
  });

  it('_revinclude and _include never bring a hidden document or a blocked patient', async () => {
    const gp = server.session(callerNamed('gp'));
    const revinclude = await gp.search.search({ resourceType: 'Patient', query: [['_id', 'px'], ['_revinclude', 'DocumentReference:subject']], access: (t) => gp.access.readable(t) });
    const ids = revinclude.included.map((r) => r.id);
    expect(ids).toContain('x-cr');
    expect(ids).not.toContain('x-masque');
    expect(ids).not.toContain('x-hidden');
    expect(ids).not.toContain('x-attest');
    const kine = server.session(callerNamed('kine'));
    const include = await kine.search.search({ resourceType: 'Appointment', query: [['_include', 'Appointment:actor']], access: (t) => kine.access.readable(t) });
    expect(include.matches).toHaveLength(0);
  });
});
