/** The PostgreSQL CallerLookup: current, non-deleted resources only, role lookup by index. */
import type { PractitionerRole, RelatedPerson, Resource } from 'fhir/r4';
import { createCallerLookup } from '../../src/identity/lookup';
import { PROFESSION_SYSTEM, resolveCaller, type CallerLookup } from '../../src/identity/resolve';
import { PoolExecutor } from '../../src/store/executor';
import { testDatabase, type TestDatabase } from '../support/database';

const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const role = (id: string, practitioner: string, extra: Partial<PractitionerRole> = {}): PractitionerRole => ({
  resourceType: 'PractitionerRole',
  id,
  practitioner: { reference: `Practitioner/${practitioner}` },
  code: [{ coding: [{ system: PROFESSION_SYSTEM, code: '10' }] }],
  ...extra,
});
const mother: RelatedPerson = {
  resourceType: 'RelatedPerson',
  id: 'mother',
  patient: { reference: 'Patient/kid' },
  relationship: [{ coding: [{ system: ROLE_CODE, code: 'MTH' }] }],
};

describe('createCallerLookup', () => {
  let t: TestDatabase;
  let lookup: CallerLookup;

  async function put(resource: Resource, deleted = false): Promise<void> {
    await t.db('resources').insert({
      resource_type: resource.resourceType,
      id: resource.id,
      version_id: 1,
      last_updated: new Date(),
      deleted,
      created_by: 'client:test',
      content: deleted ? null : resource,
    });
  }

  beforeAll(async () => {
    t = await testDatabase();
    lookup = createCallerLookup(new PoolExecutor(t.db));
    await put(mother);
    await put({ ...mother, id: 'gone' }, true);
    await put({ resourceType: 'Patient', id: 'mother' });
    await put({ resourceType: 'Patient', id: 'kid', birthDate: '2015-03-01' } as Resource);
    await put({ resourceType: 'Patient', id: 'gone-kid', birthDate: '2015-03-01' } as Resource, true);
    await put(role('r1', 'P1'));
    await put(role('r2', 'P1', { active: true, period: { start: '2020-01-01' } }));
    await put(role('r3', 'P1', { active: false }));
    await put(role('r4', 'P1'), true);
    await put(role('r5', 'P10'));
    await put(role('r6', 'P2'));
    await put({ resourceType: 'Basic', id: 'b1', code: {}, practitioner: { reference: 'Practitioner/P1' } } as Resource);
  });
  afterAll(() => t.drop());

  it.each<[string, string | undefined]>([
    ['mother', 'mother'],
    ['gone', undefined], // deleted
    ['nobody', undefined],
  ])('relatedPerson(%s)', async (id, expected) => {
    expect((await lookup.relatedPerson(id))?.id).toBe(expected);
  });

  it.each<[string, string | undefined]>([
    ['kid', '2015-03-01'],
    ['gone-kid', undefined], // deleted
    ['nobody', undefined],
  ])('patient(%s) has birthDate %p', async (id, expected) => {
    expect((await lookup.patient(id))?.birthDate).toBe(expected);
  });

  it.each<[string, string[]]>([
    ['P1', ['r1', 'r2']], // r3 inactive, r4 deleted, r5 is P10's, Basic is no role
    ['P10', ['r5']],
    ['P2', ['r6']],
    ['P3', []],
  ])('activeRoles(%s)', async (id, expected) => {
    expect((await lookup.activeRoles(id)).map((r) => r.id)).toEqual(expected);
  });

  it('resolves a representative and a practitioner from the database', async () => {
    await expect(resolveCaller({ sub: 's', fhirUser: 'RelatedPerson/mother' }, lookup)).resolves.toMatchObject({ kind: 'related-person', patientId: 'kid' });
    await expect(resolveCaller({ sub: 's', fhirUser: 'RelatedPerson/gone' }, lookup)).rejects.toMatchObject({ status: 403 });
    const practitioner = await resolveCaller({ sub: 's', fhirUser: 'Practitioner/P1', scope: 'user/*.rs' }, lookup);
    expect(practitioner).toMatchObject({ kind: 'practitioner', roles: [{ roleId: 'r1', professions: ['10'] }, { roleId: 'r2' }] });
  });

  it('finds roles through the expression index (the query activeRoles runs)', async () => {
    await t.db.raw(`
      INSERT INTO resources (resource_type, id, version_id, last_updated, created_by, content)
      SELECT 'PractitionerRole', 'bulk-' || n, 1, now(), 'client:test',
             jsonb_build_object('resourceType', 'PractitionerRole', 'id', 'bulk-' || n, 'practitioner', jsonb_build_object('reference', 'Practitioner/bulk-' || n))
      FROM generate_series(1, 5000) AS n`);
    await t.db.raw('ANALYZE resources');
    const queries: { sql: string; bindings: unknown[] }[] = [];
    const record = (query: { sql: string; bindings: unknown[] }) => queries.push(query);
    t.db.on('query', record);
    await lookup.activeRoles('P1');
    t.db.removeListener('query', record);
    const [query] = queries;
    const result = await t.db.raw(`EXPLAIN ${query.sql.replace(/\$\d+/g, '?')}`, query.bindings as string[]);
    const plan = (result.rows as { 'QUERY PLAN': string }[]).map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toContain('resources_role_practitioner');
  });
});
