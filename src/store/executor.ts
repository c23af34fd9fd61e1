/**
 * The one way to the database below the store, search and access layers,
 * and the only module that talks to `pg` under knex: an Executor runs SQL
 * (positional `?` bindings) on a pooled connection or inside one
 * transaction, as a named prepared statement once its shape repeats
 * (statements.ts).
 *
 * Inside a transaction the executor owns its connection and, when asked
 * (`{ unitOfWork: true }`: a transaction Bundle), a unit of work: writers
 * hold statements back in parts (`unit.part`), and the executor writes them,
 * in the order the parts were opened, ahead of the next statement anyone
 * sends through it (a store read, a search, the access reader) and before
 * the transaction commits. A rollback drops them. Every statement of the
 * transaction goes through `query`, so no statement can overtake a held
 * write, and nothing of knex or pg is modified.
 *
 * The rule for nested transactions: `transaction(work)` on an executor that
 * is already in a transaction runs `work` in that same transaction, flat (no
 * savepoint). Any failure inside it fails the whole transaction; the caller
 * that opened the outer one rolls it back.
 *
 * A `CommitObserver` (store/statistics.ts) is asked last in every
 * unit-of-work transaction, before its commit, and told once it committed.
 */
import type { Knex } from 'knex';
import type { HeldPart, HeldStatement, Planning, QueryResult, ReservedConnection, SqlBinding, SqlExecutor, SqlPool, TransactionOptions, UnitOfWork } from '../kernel/sql';
import { namedWhenRepeated, planEachTime, type StatementCache } from './statements';

export type { HeldPart, HeldStatement, Planning, QueryResult, SqlBinding, TransactionOptions, UnitOfWork } from '../kernel/sql';
export type Executor = SqlExecutor;

/** A part holding more resources than this writes them at once, so one statement stays a few MB at most. */
export const MAX_HELD = 500;

/** The slice of a pg client used here (knex hands connections out untyped). */
interface PgConnection {
  query<T>(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: T[]; rowCount: number | null }>;
}

function cacheOf(planning: Planning): Pick<StatementCache, 'statement'> {
  if (planning === 'each') return planEachTime;
  return planning === 'named' ? namedWhenRepeated : planning;
}

async function send<T>(connection: PgConnection, sql: string, bindings: readonly unknown[], planning: Planning): Promise<QueryResult<T>> {
  const statement = cacheOf(planning).statement(sql);
  const result = await connection.query<T>({ ...statement, values: bindings as unknown[] });
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

/** Asked in a unit-of-work transaction's last statement (before commit), told after the commit. */
export interface CommitObserver<S = unknown> {
  beforeCommit(trx: Executor): Promise<S>;
  committed(state: S): void;
}

/** Statements on pooled connections; transactions on a connection of their own. */
export class PoolExecutor implements SqlPool {
  readonly inTransaction = false;

  constructor(
    private readonly db: Knex,
    private readonly observer?: CommitObserver,
  ) {}

  async query<T>(sql: string, bindings: readonly SqlBinding[] = [], planning: Planning = 'named'): Promise<QueryResult<T>> {
    this.db.client.emit('query', { method: 'raw', sql, bindings }); // knex's 'query' event, as for its own statements
    const connection = (await this.db.client.acquireConnection()) as PgConnection;
    try {
      return await send<T>(connection, sql, bindings, planning);
    } finally {
      await this.db.client.releaseConnection(connection);
    }
  }

  /** A connection kept for one writer until released (taken on its first query, given back on an error). */
  reserve(): ReservedConnection {
    return new KeptConnection(this.db);
  }

  async transaction<T>(work: (trx: Executor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const observer = options.unitOfWork === true ? this.observer : undefined;
    let observed: { state: unknown } | undefined;
    const result = await this.db.transaction(async (trx) => {
      const connection = (await trx.client.acquireConnection()) as PgConnection;
      const executor = new TransactionExecutor(connection, options.unitOfWork === true);
      try {
        const result = await work(executor);
        await executor.finish();
        if (observer) observed = { state: await observer.beforeCommit(executor) };
        return result;
      } catch (error) {
        throw executor.failure ?? error;
      } finally {
        executor.close();
        await trx.client.releaseConnection(connection);
      }
    });
    if (observer && observed) observer.committed(observed.state);
    return result;
  }
}

class KeptConnection implements ReservedConnection {
  private connection: PgConnection | undefined;

  constructor(private readonly db: Knex) {}

  async query<T>(sql: string, bindings: readonly SqlBinding[] = [], planning: Planning = 'named'): Promise<QueryResult<T>> {
    const connection = this.connection ?? (this.connection = (await this.db.client.acquireConnection()) as PgConnection);
    try {
      return await send<T>(connection, sql, bindings, planning);
    } catch (error) {
      await this.release(); // the connection may be broken: the next query takes another
      throw error;
    }
  }

  async release(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await this.db.client.releaseConnection(connection);
  }
}

/** One transaction's statements, after whatever its unit of work holds. */
class TransactionExecutor implements Executor {
  readonly inTransaction = true;
  readonly unit?: HeldWrites;
  private closed = false;

  constructor(private readonly connection: PgConnection, unitOfWork: boolean) {
    if (unitOfWork) this.unit = new HeldWrites((statement) => send(connection, statement.sql, statement.bindings, 'named'), (sql, bindings) => this.sendAhead(sql, bindings));
  }

  /** The error of a held statement that failed: the transaction's real cause. */
  get failure(): unknown {
    return this.unit?.error;
  }

  async query<T>(sql: string, bindings: readonly SqlBinding[] = [], planning: Planning = 'named'): Promise<QueryResult<T>> {
    if (this.closed) throw new Error('query on a transaction that has ended');
    if (this.unit) await this.unit.flush();
    return send<T>(this.connection, sql, bindings, planning);
  }

  transaction<T>(work: (trx: Executor) => Promise<T>): Promise<T> {
    return work(this);
  }

  private sendAhead<T>(sql: string, bindings: readonly SqlBinding[]): Promise<QueryResult<T>> {
    if (this.closed) throw new Error('query on a transaction that has ended');
    return send<T>(this.connection, sql, bindings, 'named');
  }

  /** Before commit: everything held is written. */
  async finish(): Promise<void> {
    if (this.unit) await this.unit.flush();
  }

  close(): void {
    this.closed = true;
  }
}

/** The parts of a unit of work and the statements being written (later statements wait for them). */
class HeldWrites implements UnitOfWork {
  private readonly parts = new Map<object, HeldPart>();
  private writing: Promise<void> = Promise.resolve();
  error: unknown;

  constructor(
    private readonly write: (statement: HeldStatement) => Promise<unknown>,
    private readonly sendAhead: <T>(sql: string, bindings: readonly SqlBinding[]) => Promise<QueryResult<T>>,
  ) {}

  ahead<T>(sql: string, bindings: readonly SqlBinding[] = []): Promise<QueryResult<T>> {
    return this.sendAhead<T>(sql, bindings);
  }

  part<T extends HeldPart>(key: object, open: () => T): T {
    let part = this.parts.get(key) as T | undefined;
    if (!part) {
      part = open();
      this.parts.set(key, part);
    }
    return part;
  }

  flush(): Promise<void> {
    const statements: HeldStatement[] = [];
    for (const part of this.parts.values()) {
      const statement = part.take();
      if (statement) statements.push(statement);
    }
    if (statements.length > 0) {
      this.writing = this.writing.then(async () => {
        for (const statement of statements) await this.write(statement);
      });
      this.writing.catch((error: unknown) => {
        this.error ??= error;
      });
    }
    return this.writing;
  }
}
