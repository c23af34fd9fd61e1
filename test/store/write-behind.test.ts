/**
 * Write-behind in a transaction (store/write-behind.ts, ResourceStore.batchWrites):
 * new rows and index rows are held, yet every statement the transaction sends
 * afterwards — a store read, a knex query, a search, several at once — sees
 * them; they are written by the end; a rollback keeps nothing; a held
 * statement that fails fails the transaction with its own error.
 */
import type { Knex } from 'knex';
import { Query } from 'pg';
import type { Resource } from 'fhir/r4';
import { testDatabase, type TestDatabase } from '../support/database';
import { ResourceStore } from '../../src/store/resources';
import { allowAll } from '../../src/kernel/predicate';
import { createSearchEngine } from '../../src/search';

let t: TestDatabase;
let store: ResourceStore;
const engine = createSearchEngine();
let counter = 0;

beforeAll(async () => {
  t = await testDatabase();
  store = new ResourceStore(t.db, engine.indexer);
});
afterAll(() => t.drop());

const patient = (family: string): Resource => ({ resourceType: 'Patient', id: `wb-${Date.now().toString(36)}-${counter++}`, name: [{ family }] } as Resource);
const create = (trx: Knex.Transaction, resource: Resource) => store.bind(trx).insert(trx, { resource, patientId: resource.id ?? null, createdBy: 'test', method: 'POST', generatedId: true });
const count = async (db: Knex | Knex.Transaction, sql: string, bindings: string[]) => Number((await db.raw<{ rows: { n: string }[] }>(sql, bindings)).rows[0].n);
const rowsOf = (db: Knex | Knex.Transaction, id: string) => count(db, 'SELECT count(*) AS n FROM resources WHERE id = ?', [id]);
const versionsOf = (db: Knex | Knex.Transaction, id: string) => count(db, 'SELECT count(*) AS n FROM resource_versions WHERE id = ?', [id]);
const familyRows = (db: Knex | Knex.Transaction, family: string) => count(db, "SELECT count(*) AS n FROM search_string WHERE param = 'family' AND value_exact = ?", [family]);
const searchFamily = async (trx: Knex.Transaction, family: string) => (await engine.search(store.bind(trx)).match('Patient', [['family:exact', family]], allowAll, 10, trx)).map((row) => row.id);

describe('write-behind', () => {
  it('holds the new rows, and each later statement of the transaction sees them', async () => {
    const a = patient('Held');
    const b = patient('Held');
    await t.db.transaction((trx) =>
      store.batchWrites(trx, async () => {
        const storedA = await create(trx, a);
        await create(trx, b);
        expect(storedA?.rid).toBeGreaterThan(0);
        expect(await rowsOf(t.db, a.id!)).toBe(0); // not written yet: another connection cannot see it either way
        expect((await store.read('Patient', a.id!, allowAll, trx))?.rid).toBe(storedA?.rid); // a store read
        expect(await versionsOf(trx, b.id!)).toBe(1); // a knex query (pg callback style)
        expect((await searchFamily(trx, 'Held')).sort()).toEqual([a.id, b.id].sort()); // the index rows
        const c = patient('Later');
        await create(trx, c);
        const [seen, found] = await Promise.all([rowsOf(trx, c.id!), searchFamily(trx, 'Later')]); // two at once
        expect(seen).toBe(1);
        expect(found).toEqual([c.id]);
      }),
    );
    expect(await rowsOf(t.db, a.id!)).toBe(1);
    expect(await versionsOf(t.db, a.id!)).toBe(1);
    expect(await familyRows(t.db, 'Held')).toBeGreaterThanOrEqual(2);
  });

  it('writes what is still held when the work ends', async () => {
    const a = patient('AtTheEnd');
    await t.db.transaction((trx) => store.batchWrites(trx, async () => void (await create(trx, a))));
    expect(await rowsOf(t.db, a.id!)).toBe(1);
    expect(await familyRows(t.db, 'AtTheEnd')).toBe(1);
  });

  it('keeps nothing when the transaction fails, before or after the rows were written', async () => {
    const before = patient('RolledBack');
    const after = patient('RolledBack');
    await expect(
      t.db.transaction((trx) =>
        store.batchWrites(trx, async () => {
          await create(trx, before);
          await rowsOf(trx, before.id!); // written now
          await create(trx, after); // still held
          throw new Error('an entry failed');
        }),
      ),
    ).rejects.toThrow('an entry failed');
    expect(await rowsOf(t.db, before.id!)).toBe(0);
    expect(await rowsOf(t.db, after.id!)).toBe(0);
    expect(await familyRows(t.db, 'RolledBack')).toBe(0);
  });

  it('a held statement that fails fails the transaction with its own error, and nothing is kept', async () => {
    const taken = patient('Taken');
    await t.db.transaction((trx) => store.bind(trx).insert(trx, { resource: taken, patientId: null, createdBy: 'test', method: 'POST' }));
    const other = patient('NotKept');
    await expect(
      t.db.transaction((trx) =>
        store.batchWrites(trx, async () => {
          await create(trx, other);
          await create(trx, { ...taken, name: [{ family: 'Duplicate' }] } as Resource); // same id: the held insert breaks the key
          await rowsOf(trx, other.id!);
        }),
      ),
    ).rejects.toThrow(/resources_type_id|duplicate key/);
    expect(await rowsOf(t.db, other.id!)).toBe(0);
    expect(await familyRows(t.db, 'Duplicate')).toBe(0);
  });

  it('refuses a streaming query while writes are held (it could not wait for them)', async () => {
    const held = patient('Streamed');
    await expect(
      t.db.transaction((trx) =>
        store.batchWrites(trx, async () => {
          await create(trx, held);
          const connection = (await trx.client.acquireConnection()) as { query: (query: Query) => unknown };
          connection.query(new Query('SELECT 1'));
        }),
      ),
    ).rejects.toThrow(/streaming query/);
    expect(await rowsOf(t.db, held.id!)).toBe(0);
  });
});
