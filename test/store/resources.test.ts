import type { Resource } from 'fhir/r4';
import { testDatabase, type TestDatabase } from '../support/database';
import { PoolExecutor } from '../../src/store/executor';
import { ResourceStore } from '../../src/store/resources';
import { allowAll, denyAll } from '../../src/kernel/predicate';

describe('ResourceStore', () => {
  let t: TestDatabase;
  let pool: PoolExecutor;
  let store: ResourceStore;
  beforeAll(async () => {
    t = await testDatabase();
    pool = new PoolExecutor(t.db);
    store = new ResourceStore(pool);
  });
  afterAll(() => t.drop());

  it('stores version 1, then the next version, and keeps both in history', async () => {
    const first = await pool.transaction((trx) =>
      store.on(trx).insert({ resource: { resourceType: 'Patient', id: 'p1' }, patientId: 'p1', createdBy: 'client:test', method: 'POST' }),
    );
    expect(first?.versionId).toBe(1);
    expect(first?.content?.meta?.versionId).toBe('1');
    const second = await pool.transaction(async (trx) => {
      const bound = store.on(trx);
      const current = await bound.lock('Patient', 'p1');
      return bound.writeNext(current!, { resource: { resourceType: 'Patient', id: 'p1', active: true } as Resource, patientId: 'p1', createdBy: 'client:test', method: 'PUT' });
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
    const again = await pool.transaction((trx) =>
      store.on(trx).insert({ resource: { resourceType: 'Patient', id: 'p1' }, patientId: 'p1', createdBy: 'client:test', method: 'POST' }),
    );
    expect(again).toBeUndefined();
  });

  it('writes only inside a transaction', async () => {
    await expect(store.insert({ resource: { resourceType: 'Patient', id: 'p2' }, patientId: 'p2', createdBy: 'client:test', method: 'POST' })).rejects.toThrow(/needs a transaction/);
    await expect(store.lock('Patient', 'p1')).rejects.toThrow(/needs a transaction/);
  });
});
