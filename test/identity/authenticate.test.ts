/** The identity entry point: Authorization header → Caller, wired from the configuration. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createIdentity, type Identity } from '../../src/identity/authenticate';
import { PoolExecutor } from '../../src/store/executor';
import { testDatabase, type TestDatabase } from '../support/database';

describe('createIdentity', () => {
  let t: TestDatabase;
  let identity: Identity;
  let keyRoot: string;
  beforeAll(async () => {
    t = await testDatabase();
    keyRoot = mkdtempSync(path.join(tmpdir(), 'carnet-identity-'));
    const devKeyDir = path.join(keyRoot, 'dev-keys');
    identity = await createIdentity({ baseUrl: 'http://localhost:8080', devKeyDir }, new PoolExecutor(t.db));
    await t.db('resources').insert({
      resource_type: 'PractitionerRole',
      id: 'role-1',
      version_id: 1,
      last_updated: new Date(),
      created_by: 'client:test',
      content: { resourceType: 'PractitionerRole', id: 'role-1', practitioner: { reference: 'Practitioner/P1' } },
    });
  });
  afterAll(async () => {
    await t.drop();
    rmSync(keyRoot, { recursive: true, force: true });
  });

  it.each([
    [{ sub: 'Patient/1', fhirUser: 'Patient/1', scope: 'patient/*.rs' }, { kind: 'patient', patientId: '1' }],
    [{ sub: 'Practitioner/P1', fhirUser: 'Practitioner/P1', scope: 'user/*.rs' }, { kind: 'practitioner', roles: [{ roleId: 'role-1' }] }],
    [{ sub: 'my-lab', scope: 'system/*.cruds' }, { kind: 'system', clientId: 'my-lab', operator: true }],
  ])('authenticates a token it issued: %p', async (claims, expected) => {
    const token = await identity.localKeys.issueToken(claims);
    await expect(identity.authenticate(`Bearer ${token}`)).resolves.toMatchObject(expected);
  });

  it.each([
    [undefined, 401],
    ['Bearer nope', 401],
  ])('refuses %p with %i', async (authorization, status) => {
    await expect(identity.authenticate(authorization)).rejects.toMatchObject({ status });
  });

  it.each<[string, number | { kind: string; patientId: string }]>([
    ['Patient/1', { kind: 'patient', patientId: '1' }],
    ['http://localhost:8080/fhir/Patient/1', { kind: 'patient', patientId: '1' }],
    ['https://other.example/fhir/Patient/1', 401],
    ['http://localhost:8080/Patient/1', 401],
    ['http://localhost:9090/fhir/Patient/1', 401],
  ])('fhirUser %s: on the base of BASE_URL only', async (fhirUser, expected) => {
    const token = await identity.localKeys.issueToken({ sub: 'p', fhirUser, scope: 'patient/*.rs' });
    const answer = identity.authenticate(`Bearer ${token}`);
    if (typeof expected !== 'number') return expect(answer).resolves.toMatchObject(expected);
    await expect(answer).rejects.toMatchObject({ status: expected, headers: { 'WWW-Authenticate': expect.stringMatching(/^Bearer /) } });
  });

  it('refuses a caller it cannot resolve with 403', async () => {
    const token = await identity.localKeys.issueToken({ sub: 'x', fhirUser: 'Organization/o1' });
    await expect(identity.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ status: 403 });
  });
});
