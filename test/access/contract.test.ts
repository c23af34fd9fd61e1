/**
 * CONTRACT §4, case by case, at the store level: the Carnet policy's
 * predicates inside the store and the search engine (read, search, history),
 * and checkPatientSpace, for the cast of scenario.ts. The same table runs
 * over HTTP in http.test.ts.
 */
import { accessBed, type AccessBed } from './bed';
import { callerNamed, scenarioWrites, spaceCases, visibilityCases } from './scenario';

describe('CONTRACT §4 at the store level', () => {
  let bed: AccessBed;
  beforeAll(async () => {
    bed = await accessBed();
    for (const [resource, by] of scenarioWrites()) await bed.put(resource, by);
  });
  afterAll(() => bed.close());

  it.each(visibilityCases)('%s sees %s: %s (read, search, history)', async (who, key, visible) => {
    const caller = callerNamed(who);
    const [type, id] = key.split('/');
    const access = bed.policy.readable(caller, type);
    const read = await bed.store.read(type, id, access);
    const search = await bed.engine.search(bed.store).search({ resourceType: type, query: [['_id', id]], access: (t) => bed.policy.readable(caller, t) });
    const history = await bed.store.history({ resourceType: type, id, count: 10 }, access);
    const systemHistory = await bed.store.history({ count: 1000 }, bed.policy.readable(caller));
    expect({ read: read !== undefined, search: search.matches.length === 1 && search.total === 1, history: history.length > 0, systemHistory: systemHistory.some((v) => `${v.resourceType}/${v.id}` === key) }).toEqual({
      read: visible,
      search: visible,
      history: visible,
      systemHistory: visible,
    });
  });

  it.each(spaceCases)('%s naming %s\'s space → %i', async (who, patientId, status) => {
    const outcome = await bed.policy.checkPatientSpace(callerNamed(who), patientId).then(
      () => 200,
      (error: { status?: number }) => error.status,
    );
    expect(outcome).toBe(status);
  });

  it('a search naming no patient returns what the practitioner may see, with an exact total and full pages', async () => {
    const caller = callerNamed('pharma');
    const engine = bed.engine.search(bed.store);
    const all = await engine.search({ resourceType: 'DocumentReference', query: [['_count', '100']], access: (t) => bed.policy.readable(caller, t) });
    const page = await engine.search({ resourceType: 'DocumentReference', query: [['_count', '2'], ['_total', 'accurate']], access: (t) => bed.policy.readable(caller, t) });
    expect(all.matches.map((r) => r.id).sort()).toEqual(['x-cr', 'x-invisible-patient']);
    expect(page.total).toBe(all.matches.length);
    expect(page.matches).toHaveLength(2);
  });

  it('_revinclude and _include never bring a hidden document or a blocked patient', async () => {
    const engine = bed.engine.search(bed.store);
    const gp = callerNamed('gp');
    const revinclude = await engine.search({ resourceType: 'Patient', query: [['_id', 'px'], ['_revinclude', 'DocumentReference:subject']], access: (t) => bed.policy.readable(gp, t) });
    const ids = revinclude.included.map((r) => r.id);
    expect(ids).toContain('x-cr');
    expect(ids).not.toContain('x-masque');
    expect(ids).not.toContain('x-hidden');
    expect(ids).not.toContain('x-attest');
    const kine = callerNamed('kine');
    const include = await engine.search({ resourceType: 'Appointment', query: [['_include', 'Appointment:actor']], access: (t) => bed.policy.readable(kine, t) });
    expect(include.matches).toHaveLength(0);
  });
});
