/**
 * Named prepared statements (store/statements.ts) as PoolExecutor sends them
 * to PostgreSQL: a statement shape becomes a named prepared statement on its
 * third run, one-off shapes and `each`-planned ones never do, the number of
 * named shapes is bounded, results and errors are those of the statement,
 * and a transaction's statements run on its own connection.
 */
import { openDb, type Db } from '../../src/store/db';
import { PoolExecutor, type Executor } from '../../src/store/executor';
import { namedWhenRepeated, planEachTime, StatementCache } from '../../src/store/statements';
import { testDatabase, type TestDatabase } from '../support/database';

let t: TestDatabase;
let single: Db; // one connection: what it has prepared is visible in pg_prepared_statements
let one: PoolExecutor;
let pool: PoolExecutor;

const preparedOn = async (sql: Executor) => (await sql.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY prepare_time', [], 'each')).rows.map((row) => row.statement);

beforeAll(async () => {
  t = await testDatabase();
  single = openDb(t.url, 1);
  one = new PoolExecutor(single);
  pool = new PoolExecutor(t.db);
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
    expect(cache.statement('SELECT 3').name).toBeUndefined(); // still, however often it runs
  });

  it('the process caches: repeated shapes named after two runs, `each` never', () => {
    const sql = `SELECT ? AS process_cache_${Date.now()}`;
    expect([1, 2, 3].map(() => namedWhenRepeated.statement(sql).name !== undefined)).toEqual([false, false, true]);
    expect([1, 2, 3, 4].some(() => planEachTime.statement(sql).name !== undefined)).toBe(false);
  });
});

describe('PoolExecutor', () => {
  it('prepares a repeated shape on the connection, and answers like the statement', async () => {
    const cache = new StatementCache({ after: 2 });
    const sql = 'SELECT ?::int + 1 AS n';
    const answers: number[] = [];
    for (let i = 0; i < 4; i++) answers.push((await one.query<{ n: number }>(sql, [i], cache)).rows[0].n);
    expect(answers).toEqual([1, 2, 3, 4]);
    expect(await preparedOn(one)).toContain('SELECT $1::int + 1 AS n');
  });

  it('by default (`named`), a shape run three times is prepared', async () => {
    const sql = `SELECT ?::text AS default_named_${Date.now()}`;
    for (let i = 0; i < 3; i++) expect((await one.query(sql, ['v'])).rowCount).toBe(1);
    expect((await preparedOn(one)).some((statement) => statement === sql.replace('?', '$1'))).toBe(true);
  });

  it('a one-off shape, and an `each`-planned one however often it runs, is never prepared', async () => {
    await one.query('SELECT ?::text AS once', ['x'], new StatementCache({ after: 2 }));
    for (let i = 0; i < 4; i++) await one.query('SELECT ?::text AS planned_each_time', ['x'], 'each');
    const prepared = await preparedOn(one);
    expect(prepared.some((statement) => statement.includes('AS once'))).toBe(false);
    expect(prepared.some((statement) => statement.includes('planned_each_time'))).toBe(false);
  });

  it('prepares at most `limit` shapes on the connection', async () => {
    const cache = new StatementCache({ after: 0, limit: 1 });
    await one.query('SELECT 1 AS bounded_a', [], cache);
    await one.query('SELECT 1 AS bounded_b', [], cache);
    await one.query('SELECT 1 AS bounded_b', [], cache);
    const prepared = await preparedOn(one);
    expect(prepared.filter((statement) => statement.includes('bounded_'))).toEqual(['SELECT 1 AS bounded_a']);
  });

  it('answers rows and rowCount of the statement', async () => {
    await pool.query('CREATE TABLE statement_rows (v int)');
    const cache = new StatementCache({ after: 0 });
    const inserted = await pool.query('INSERT INTO statement_rows SELECT generate_series(1, ?::int)', [3], cache);
    expect(inserted).toEqual({ rows: [], rowCount: 3 });
    expect((await pool.query<{ v: number }>('SELECT v FROM statement_rows WHERE v > ? ORDER BY v', [1], cache)).rows).toEqual([{ v: 2 }, { v: 3 }]);
  });

  it.each<[string, StatementCache | 'each']>([
    ['named', new StatementCache({ after: 0 })],
    ['unnamed', 'each'],
  ])('PostgreSQL errors reach the caller with their SQLSTATE (%s)', async (_kind, planning) => {
    await expect(one.query('SELECT ?::int AS n', ['not a number'], planning)).rejects.toMatchObject({ code: '22P02' });
    expect((await one.query<{ n: number }>('SELECT ?::int AS n', ['7'], planning)).rows).toEqual([{ n: 7 }]); // the connection is still good
  });

  it('in a transaction: runs on its own connection (sees its rows, others do not), rolls back with it, refuses once it ended', async () => {
    await pool.query('CREATE TABLE prepared_probe (v text)');
    const cache = new StatementCache({ after: 0 });
    let ended: Executor | undefined;
    await pool
      .transaction(async (trx) => {
        ended = trx;
        expect(trx.inTransaction).toBe(true);
        const backends = new Set<number>();
        const backend = async () => backends.add((await trx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid', [], cache)).rows[0].pid);
        await backend();
        await trx.query('INSERT INTO prepared_probe VALUES (?)', ['inside'], cache);
        await backend();
        expect((await trx.query<{ v: string }>('SELECT v FROM prepared_probe', [], cache)).rows).toEqual([{ v: 'inside' }]);
        expect((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM prepared_probe', [], 'each')).rows[0].n).toBe(0); // another connection
        expect(await preparedOn(trx)).toContain('INSERT INTO prepared_probe VALUES ($1)'); // named on the transaction's connection
        await backend();
        expect(backends.size).toBe(1);
        throw new Error('roll back');
      })
      .catch(() => {});
    expect((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM prepared_probe')).rows[0].n).toBe(0);
    await expect(ended!.query('SELECT 1', [], cache)).rejects.toThrow('transaction that has ended');
  });

  it('a transaction commits what it wrote', async () => {
    await pool.transaction((trx) => trx.query('INSERT INTO prepared_probe VALUES (?)', ['kept']));
    expect((await pool.query<{ v: string }>('SELECT v FROM prepared_probe')).rows).toEqual([{ v: 'kept' }]);
  });
});
