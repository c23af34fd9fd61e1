/**
 * The unit of work of a transaction (store/executor.ts, `transaction(work,
 * { unitOfWork: true })`): the store holds new rows and the search indexer
 * its index rows, yet every statement the transaction sends afterwards — a
 * store read, a row lock, a search through the engine, a raw `query`,
 * several at once — is preceded by them and sees them; what is still held
 * is written before commit; a rollback keeps nothing (held statements are
 * dropped unsent); a held statement that fails fails the transaction with
 * its own error. Statements reaching PostgreSQL are watched on the pg
 * client, so "held" and "written ahead" are observed, not inferred.
 *
 * (The driver-patch suite had a streaming-query case: a pg `Query` object
 * sent on the connection while writes were held. Nothing sends statements
 * around the executor any more, so that case no longer applies.)
 */
import { Client } from 'pg';
import type { Resource } from 'fhir/r4';
import { testDatabase, type TestDatabase } from '../support/database';
import { PoolExecutor, type Executor, type HeldPart, type HeldStatement } from '../../src/store/executor';
import { planEachTime } from '../../src/store/statements';
import { ResourceStore, type StoredResource } from '../../src/store/resources';
import { allowAll } from '../../src/kernel/predicate';
import { createSearchEngine } from '../../src/search';

let t: TestDatabase;
let pool: PoolExecutor;
let store: ResourceStore;
const engine = createSearchEngine();
let counter = 0;

/** Every statement text the pg clients are sent, in order (BEGIN and COMMIT included). */
const wire = jest.spyOn(Client.prototype, 'query');
const sent = (): string[] =>
  wire.mock.calls.map(([statement]) => (typeof statement === 'string' ? statement : (statement as { text?: string }).text ?? '')).map((text) => text.replace(/\s+/g, ' ').trim());
const HELD_ROWS = /^WITH x AS MATERIALIZED .*INSERT INTO resources/;

beforeAll(async () => {
  t = await testDatabase();
  pool = new PoolExecutor(t.db);
  store = new ResourceStore(pool, engine.indexer);
});
beforeEach(() => wire.mockClear());
afterAll(async () => {
  wire.mockRestore();
  await t.drop();
});

const unique = (family: string) => `${family}${Date.now().toString(36)}${counter++}`;
const patient = (family: string): Resource => ({ resourceType: 'Patient', id: `uow-${Date.now().toString(36)}-${counter++}`, name: [{ family }] }) as Resource;
const create = async (trx: Executor, resource: Resource): Promise<StoredResource> => {
  const stored = await store.on(trx).insert({ resource, patientId: resource.id ?? null, createdBy: 'test', method: 'POST', generatedId: true });
  if (!stored) throw new Error('not inserted');
  return stored;
};
const count = async (sql: Executor, text: string, bindings: (string | string[])[]) => Number((await sql.query<{ n: string }>(text, bindings)).rows[0].n);
const rowsOf = (sql: Executor, ids: string[]) => count(sql, 'SELECT count(*) AS n FROM resources WHERE id = ANY(?::text[])', [ids]);
const familyRows = (sql: Executor, family: string) => count(sql, "SELECT count(*) AS n FROM search_string WHERE param = 'family' AND value_exact = ?", [family]);
const sorted = (ids: string[]) => [...ids].sort();

/** A kind of statement sent after the held writes: answers the ids among `ids` it saw. */
type Reader = (sql: Executor, ids: string[], family: string) => Promise<string[]>;
const storeRead: Reader = async (sql, ids) => (await Promise.all(ids.map((id) => store.on(sql).read('Patient', id, allowAll)))).flatMap((row) => (row ? [row.id] : []));
const rowLock: Reader = async (sql, ids) => (await Promise.all(ids.map((id) => store.on(sql).lock('Patient', id)))).flatMap((row) => (row ? [row.id] : []));
const search: Reader = async (sql, _ids, family) => (await engine.search(sql).match('Patient', [['family:exact', family]], allowAll, 10)).map((row) => row.id);
const raw: Reader = async (sql, ids) =>
  (await sql.query<{ id: string }>('SELECT r.id FROM resources r JOIN resource_versions v USING (rid) WHERE r.id = ANY(?::text[])', [ids])).rows.map((row) => row.id);
const twoAtOnce: Reader = async (sql, ids, family) => {
  const [byRaw, bySearch] = await Promise.all([raw(sql, ids, family), search(sql, ids, family)]);
  return byRaw.filter((id) => bySearch.includes(id)); // what both saw
};
const readers: [string, Reader][] = [
  ['a store read', storeRead],
  ['a row lock', rowLock],
  ['a search through the engine (index rows)', search],
  ['a raw query', raw],
  ['two statements at once', twoAtOnce],
];

/** The transaction's connection, as the executor's statements reach it: skipping the unit of work. */
function overtaking(trx: Executor, connection: Client): Executor {
  const executor: Executor = {
    inTransaction: true,
    unit: trx.unit,
    query: async <T,>(text: string, bindings: readonly unknown[] = []) => {
      const result = await connection.query({ text: planEachTime.statement(text).text, values: bindings as unknown[] });
      return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
    },
    transaction: (work) => work(executor),
  };
  return executor;
}

describe('unit of work', () => {
  it.each(readers)('holds new rows and index rows; %s sends them first and sees them', async (_kind, reader) => {
    const family = unique('Held');
    const a = patient(family);
    const b = patient(family);
    const ids = [a.id!, b.id!];
    await pool.transaction(
      async (trx) => {
        const start = sent().length;
        const storedA = await create(trx, a);
        await create(trx, b);
        expect(storedA.rid).toBeGreaterThan(0); // its rid is known while the row is held
        const afterCreates = sent().length;
        expect(sent().slice(start).filter((text) => /INSERT INTO/.test(text))).toEqual([]); // held: nothing written yet
        expect(sorted(await reader(trx, ids, family))).toEqual(sorted(ids));
        const next = sent().slice(afterCreates);
        expect(next[0]).toMatch(HELD_ROWS); // both rows in one statement, ahead of the reader's
        expect(next[1]).toMatch(/INSERT INTO search_/); // then the index rows
        expect(next.slice(2).some((text) => HELD_ROWS.test(text))).toBe(false); // written once
      },
      { unitOfWork: true },
    );
    expect(await rowsOf(pool, ids)).toBe(2);
    expect(await familyRows(pool, family)).toBe(2);
  });

  it.each(readers)('an executor whose query skipped the flush would be caught: %s sees none of the held rows', async (_kind, reader) => {
    // The mutation the cases above guard against, on the transaction's own connection: a statement
    // that overtakes the held writes sees nothing of them, so each reader's expectation would fail.
    const family = unique('Overtaken');
    const ids = [patient(family), patient(family)].map((resource) => resource.id!);
    await pool.transaction(
      async (trx) => {
        await trx.query('SELECT 1');
        const connection = wire.mock.contexts.at(-1) as Client; // the client that statement was sent on
        for (const id of ids) await create(trx, { resourceType: 'Patient', id, name: [{ family }] } as Resource);
        expect(await reader(overtaking(trx, connection), ids, family)).toEqual([]);
        expect(sorted(await reader(trx, ids, family))).toEqual(sorted(ids)); // through the executor, there they are
      },
      { unitOfWork: true },
    );
  });

  it('writes what is still held before commit', async () => {
    const family = unique('AtTheEnd');
    const a = patient(family);
    await pool.transaction((trx) => create(trx, a), { unitOfWork: true });
    const statements = sent();
    const written = statements.findIndex((text) => HELD_ROWS.test(text));
    expect(written).toBeGreaterThanOrEqual(0);
    expect(statements.findIndex((text) => /^COMMIT/.test(text))).toBeGreaterThan(written);
    expect(await rowsOf(pool, [a.id!])).toBe(1);
    expect(await familyRows(pool, family)).toBe(1);
  });

  it('writes the parts in the order they were opened, each statement once', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS uow_probe (n serial, tag text)');
    class Probe implements HeldPart {
      tags: string[] = [];
      take(): HeldStatement | undefined {
        if (this.tags.length === 0) return undefined;
        const tags = this.tags;
        this.tags = [];
        return { sql: 'INSERT INTO uow_probe (tag) SELECT unnest(?::text[])', bindings: [tags] };
      }
    }
    const first = {};
    const second = {};
    const seen = await pool.transaction(
      async (trx) => {
        const unit = trx.unit!;
        const a = unit.part(first, () => new Probe());
        const b = unit.part(second, () => new Probe());
        expect(unit.part(first, () => new Probe())).toBe(a); // one part per key
        b.tags.push('second');
        a.tags.push('first');
        const [x, y] = await Promise.all([trx.query<{ tag: string }>('SELECT tag FROM uow_probe ORDER BY n'), trx.query('SELECT 1')]);
        b.tags.push('third');
        return x.rows.map((row) => row.tag).concat(y.rowCount === 1 ? [] : ['?']);
      },
      { unitOfWork: true },
    );
    expect(seen).toEqual(['first', 'second']);
    expect((await pool.query<{ tag: string }>('SELECT tag FROM uow_probe ORDER BY n')).rows.map((row) => row.tag)).toEqual(['first', 'second', 'third']);
  });

  it.each<[string, boolean]>([
    ['before the held rows were written', false],
    ['after some of them were written', true],
  ])('keeps nothing when the transaction fails %s', async (_when, written) => {
    const family = unique('RolledBack');
    const before = patient(family);
    const after = patient(family);
    await expect(
      pool.transaction(
        async (trx) => {
          await create(trx, before);
          if (written) {
            expect(await rowsOf(trx, [before.id!])).toBe(1); // written now
            await create(trx, after); // still held
          }
          throw new Error('an entry failed');
        },
        { unitOfWork: true },
      ),
    ).rejects.toThrow('an entry failed');
    expect(sent().filter((text) => HELD_ROWS.test(text))).toHaveLength(written ? 1 : 0); // what was still held was dropped, not sent
    expect(sent().some((text) => /^ROLLBACK/.test(text))).toBe(true);
    expect(await rowsOf(pool, [before.id!, after.id!])).toBe(0);
    expect(await familyRows(pool, family)).toBe(0);
  });

  it.each<[string, (trx: Executor, probe: string) => Promise<unknown>]>([
    ['at the next statement', (trx, probe) => rowsOf(trx, [probe])],
    ['at commit', async () => {}],
    ['even when the work swallows the failed statement', (trx, probe) => rowsOf(trx, [probe]).catch(() => 0)],
    ['even when the work answers it with an error of its own', (trx, probe) => rowsOf(trx, [probe]).catch(() => Promise.reject(new Error('an entry failed')))],
  ])('a held statement that fails fails the transaction with its own error, %s, and nothing is kept', async (_when, then) => {
    const family = unique('Duplicate');
    const taken = patient(family);
    await pool.transaction((trx) => store.on(trx).insert({ resource: taken, patientId: null, createdBy: 'test', method: 'POST' }));
    const other = patient(family);
    await expect(
      pool.transaction(
        async (trx) => {
          await create(trx, other);
          await create(trx, { ...taken, name: [{ family: 'NotKept' }] } as Resource); // same id: the held insert breaks the key
          await then(trx, other.id!);
        },
        { unitOfWork: true },
      ),
    ).rejects.toMatchObject({ code: '23505', message: expect.stringMatching(/duplicate key/) }); // not 25P02 "transaction is aborted"
    expect(await rowsOf(pool, [other.id!])).toBe(0);
    expect(await familyRows(pool, 'NotKept')).toBe(0);
    expect(await familyRows(pool, family)).toBe(1); // only the row written before
  });

  it('a transaction inside the transaction runs flat: the same executor, and its failure fails the whole', async () => {
    const family = unique('Nested');
    const outer = patient(family);
    const inner = patient(family);
    await expect(
      pool.transaction(
        async (trx) => {
          await create(trx, outer);
          await trx.transaction(async (nested) => {
            expect(nested).toBe(trx);
            await create(nested, inner);
            expect(await rowsOf(nested, [outer.id!, inner.id!])).toBe(2);
            throw new Error('inner failed');
          });
        },
        { unitOfWork: true },
      ),
    ).rejects.toThrow('inner failed');
    expect(sent().filter((text) => /^(BEGIN|SAVEPOINT)/.test(text))).toEqual(['BEGIN;']);
    expect(await rowsOf(pool, [outer.id!, inner.id!])).toBe(0);
  });

  it('without a unit of work nothing is held, and statements after the transaction ended are refused', async () => {
    const family = unique('Direct');
    const a = patient(family);
    let ended: Executor | undefined;
    await pool.transaction(async (trx) => {
      ended = trx;
      expect(trx.unit).toBeUndefined();
      const start = sent().length;
      await create(trx, a);
      expect(sent().slice(start).some((text) => /INSERT INTO resources/.test(text))).toBe(true);
    });
    expect(await rowsOf(pool, [a.id!])).toBe(1);
    await expect(ended!.query('SELECT 1')).rejects.toThrow('transaction that has ended');
  });
});

describe('holding many creates', () => {
  it('draws rids ahead of what it holds: 250 creates go out as one row statement, not one per block of 100 rids', async () => {
    const family = unique('Many');
    const ids: string[] = [];
    await pool.transaction(
      async (trx) => {
        for (let i = 0; i < 250; i++) ids.push((await create(trx, { ...patient(family), name: [{ family }] } as Resource)).id);
      },
      { unitOfWork: true },
    );
    expect(sent().filter((text) => HELD_ROWS.test(text))).toHaveLength(1);
    expect(await rowsOf(pool, ids)).toBe(250);
    expect(await familyRows(pool, family)).toBe(250);
  });
});
