import type { Resource } from 'fhir/r4';
import { testDatabase, type TestDatabase } from '../support/database';
import { ResourceStore } from '../../src/store/resources';
import { allowAll, denyAll } from '../../src/kernel/predicate';

describe('ResourceStore', () => {
  let t: TestDatabase;
  let store: ResourceStore;
  beforeAll(async () => {
    t = await testDatabase();
    store = new ResourceStore(t.db);
  });
  afterAll(() => t.drop());

  it('stores version 1, then the next version, and keeps both in history', async () => {
    const first = await store.transaction((trx) =>
      store.insert(trx, { resource: { resourceType: 'Patient', id: 'p1' }, patientId: 'p1', createdBy: 'client:test', method: 'POST' }),
    );
    expect(first?.versionId).toBe(1);
    expect(first?.content?.meta?.versionId).toBe('1');
    const second = await store.transaction(async (trx) => {
      const current = await store.lock(trx, 'Patient', 'p1');
      return store.writeNext(trx, current!, { resource: { resourceType: 'Patient', id: 'p1', active: true } as Resource, patientId: 'p1', createdBy: 'client:test', method: 'PUT' });
    });
    expect(second.versionId).toBe(2);
    const history = await store.history({ resourceType: 'Patient', id: 'p1', count: 10 }, allowAll);
    expect(history.map((v) => v.versionId)).toEqual([2, 1]);
    expect((await store.vread('Patient', 'p1', 1, allowAll))?.content).not.toHaveProperty('active');
  });

  it('applies the access predicate inside the query', async () => {
    expect(await store.read('Patient', 'p1', denyAll)).toBeUndefined();
    expect(await store.history({ resourceType: 'Patient', count: 10 }, denyAll)).toEqual([]);
  });

  it('refuses a second insert of the same id', async () => {
    const again = await store.transaction((trx) =>
      store.insert(trx, { resource: { resourceType: 'Patient', id: 'p1' }, patientId: 'p1', createdBy: 'client:test', method: 'POST' }),
    );
    expect(again).toBeUndefined();
  });
});
