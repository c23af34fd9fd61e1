/**
 * store/prepared.ts on PostgreSQL: a statement shape becomes a named prepared
 * statement on its third run, one-off shapes never do, the number of named
 * shapes is bounded, results and errors are those of the statement, and a
 * transaction's statements run on its own connection.
 */
import { openDb, type Db } from '../../src/store/db';
import { query, StatementCache } from '../../src/store/prepared';
import { testDatabase, type TestDatabase } from '../support/database';

let t: TestDatabase;
let single: Db; // one connection: what it has prepared is visible in pg_prepared_statements

const prepared = async () => (await query<{ statement: string }>(single, 'SELECT statement FROM pg_prepared_statements ORDER BY prepare_time', [], new StatementCache({ limit: 0 }))).rows.map((row) => row.statement);

beforeAll(async () => {
  t = await testDatabase();
  single = openDb(t.url, 1);
});
afterAll(async () => {
  await single.destroy();
  await t.drop();
});

describe('StatementCache', () => {
  it('names a shape on its third run, with $n placeholders, and keeps the same name', () => {
    const cache = new StatementCache({ after: 2 });
    const sql = 'SELECT ? AS a, ? AS b';
    expect(cache.statement(sql)).toEqual({ text: 'SELECT $1 AS a, $2 AS b' });
    expect(cache.statement(sql).name).toBeUndefined();
    const third = cache.statement(sql);
    expect(third.name).toMatch(/^carnet_[0-9a-f]{20}$/);
    expect(cache.statement(sql)).toEqual(third);
  });

  it('names at most `limit` shapes; the others keep running unnamed', () => {
    const cache = new StatementCache({ after: 0, limit: 2 });
    const names = ['SELECT 1', 'SELECT 2', 'SELECT 3'].map((sql) => cache.statement(sql).name);
    expect(names.filter(Boolean)).toHaveLength(2);
    expect(names[2]).toBeUndefined();
  });
});

describe('query()', () => {
  it('prepares a repeated shape on the connection, and answers like the statement', async () => {
    const cache = new StatementCache({ after: 2 });
    const sql = 'SELECT ?::int + 1 AS n';
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await query<{ n: number }>(single, sql, [i], cache)).rows[0].n);
    expect(answers).toEqual([1, 2, 3, 4]);
    expect(await prepared()).toContain('SELECT $1::int + 1 AS n');
  });

  it('a one-off shape is never prepared', async () => {
    await query(single, 'SELECT ?::text AS once', ['x'], new StatementCache({ after: 2 }));
    expect((await prepared()).some((statement) => statement.includes('AS once'))).toBe(false);
  });

  it('PostgreSQL errors reach the caller with their SQLSTATE', async () => {
    const cache = new StatementCache({ after: 0 });
    await expect(query(single, 'SELECT ?::int AS n', ['not a number'], cache)).rejects.toMatchObject({ code: '22P02' });
  });

  it('in a transaction: runs on its connection (sees its rows), rolls back with it, refuses once it ended', async () => {
    await t.db.raw('CREATE TABLE prepared_probe (v text)');
    const cache = new StatementCache({ after: 0 });
    let ended: Parameters<Parameters<Db['transaction']>[0]>[0] | undefined;
    await t.db
      .transaction(async (trx) => {
        ended = trx;
        await query(trx, 'INSERT INTO prepared_probe VALUES (?)', ['inside'], cache);
        expect((await query<{ v: string }>(trx, 'SELECT v FROM prepared_probe', [], cache)).rows).toEqual([{ v: 'inside' }]);
        throw new Error('roll back');
      })
      .catch(() => {});
    expect((await t.db.raw('SELECT count(*)::int AS n FROM prepared_probe')).rows[0].n).toBe(0);
    await expect(query(ended as NonNullable<typeof ended>, 'SELECT 1', [], cache)).rejects.toThrow('transaction that has ended');
  });
});
