/**
 * Reads by id of concurrent requests, gathered into one statement: a read
 * asked for on the pool waits for the end of the event loop's turn
 * (`setImmediate`), and every read asked for in that turn with the same
 * statement — the same object: one caller's access predicate on one type,
 * store/resources.ts makes it once — goes out as one `id = ANY(?)`
 * statement. Each read gets its own row back (or none) and decides on it
 * alone; nothing of one read reaches another, since the statement is the
 * one each would have sent.
 *
 * A busy caller (a hospital system, a browser opening a patient's
 * documents) pays one round trip, one plan execution and one wake-up of a
 * PostgreSQL backend per batch instead of per read. Inside a transaction
 * reads go straight to its connection (store/resources.ts).
 */
import type { Executor, SqlBinding } from './executor';

/** Most ids one statement asks for; more reads of the turn go in the next statement. */
const MAX_IDS = 200;

interface Waiter<T> {
  id: string;
  resolve: (row: T | undefined) => void;
  reject: (error: unknown) => void;
}

/** A statement read by ids: `sql` run with `[...bindings, ids]`, its last `?` taking the text array of a batch's ids. */
export interface ByIdStatement {
  readonly sql: string;
  readonly bindings: readonly SqlBinding[];
}

interface Batch<T> {
  statement: ByIdStatement;
  waiters: Waiter<T>[];
}

export class ReadBatches {
  private pending = new Map<ByIdStatement, Batch<{ id: string }>>();
  private scheduled = false;

  constructor(readonly sql: Executor) {}

  /** The row whose `id` column is `id`, read with the other reads of `statement` asked for in this turn. */
  byId<T extends { id: string }>(statement: ByIdStatement, id: string): Promise<T | undefined> {
    let batch = this.pending.get(statement) as Batch<T> | undefined;
    if (!batch) {
      batch = { statement, waiters: [] };
      this.pending.set(statement, batch as Batch<{ id: string }>);
    }
    const waiters = batch.waiters;
    const row = new Promise<T | undefined>((resolve, reject) => waiters.push({ id, resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return row;
  }

  private flush(): void {
    this.scheduled = false;
    const batches = this.pending;
    this.pending = new Map();
    for (const batch of batches.values()) {
      for (let start = 0; start < batch.waiters.length; start += MAX_IDS) void this.run(batch, batch.waiters.slice(start, start + MAX_IDS));
    }
  }

  private async run<T extends { id: string }>(batch: Batch<T>, waiters: Waiter<T>[]): Promise<void> {
    const ids = [...new Set(waiters.map((waiter) => waiter.id))];
    try {
      const { rows } = await this.sql.query<T>(batch.statement.sql, [...batch.statement.bindings, ids]);
      const byId = new Map(rows.map((row) => [row.id, row]));
      const given = new Set<string>();
      for (const waiter of waiters) {
        const row = byId.get(waiter.id);
        // the same id asked twice in one turn: each read gets a row of its own to shape
        waiter.resolve(row && given.has(waiter.id) ? structuredClone(row) : row);
        given.add(waiter.id);
      }
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    }
  }
}
