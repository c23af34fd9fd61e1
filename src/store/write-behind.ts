/**
 * Write-behind inside one transaction (a transaction Bundle): writers may
 * hold statements back (`Held` parts: new resource rows, search index rows)
 * and have them sent together. Whatever statement the transaction sends next
 * on its connection, whoever sends it (a read of the store, a search, an
 * access check, a lock, COMMIT), the held statements go first, in the order
 * the parts were opened: that statement waits until they are written, so it
 * sees every held write, and nothing needs to know what was held. ROLLBACK
 * drops them instead. (Statements are sent by the pg client's `query` with a
 * callback, as knex does, or for a promise, as prepared.ts does; a streaming
 * query, which cannot wait, is refused while writes are held.)
 *
 * A held statement that fails aborts the transaction: the statement after it
 * then fails, and `writeBehind` rethrows the held statement's own error.
 * Held statements carry only what the server generated itself (server ids,
 * extracted index rows), never a check a client could fail.
 */
import type { Knex } from 'knex';

/** A part holding more resources than this writes them at once, so one statement stays a few MB at most. */
export const MAX_HELD = 500;

/** A statement ready for the pg client (`$n` parameters). */
export interface HeldStatement {
  name?: string;
  text: string;
  values: unknown[];
}

/** Something holding writes back: gives the statement for what it holds and forgets it (undefined: nothing held). */
export interface HeldPart {
  take(): HeldStatement | undefined;
}

type QueryMethod = (...args: unknown[]) => unknown;

interface PgConnection {
  query: QueryMethod;
}

interface Holding {
  parts: Map<object, HeldPart>;
  send: (statement: HeldStatement) => Promise<unknown>;
  /** The held statements being written: statements sent meanwhile wait for them. */
  writing?: Promise<void>;
  error?: unknown;
}

const holdings = new WeakMap<Knex.Transaction, Holding>();

/** The part `key` opened in this transaction's write-behind, or undefined outside `writeBehind`. */
export function heldPart<T extends HeldPart>(trx: Knex.Transaction, key: object, open: () => T): T | undefined {
  const holding = holdings.get(trx);
  if (!holding) return undefined;
  let part = holding.parts.get(key) as T | undefined;
  if (!part) {
    part = open();
    holding.parts.set(key, part);
  }
  return part;
}

/**
 * Starts writing what is held, part after part, after any write already
 * going on; returns the promise every later statement waits for. A failure
 * is kept (`error`) and rejects the promise.
 */
function release(holding: Holding): Promise<void> | undefined {
  const statements: HeldStatement[] = [];
  for (const part of holding.parts.values()) {
    const statement = part.take();
    if (statement) statements.push(statement);
  }
  if (statements.length === 0) return holding.writing;
  const writing = (async () => {
    await holding.writing;
    for (const statement of statements) await holding.send(statement);
  })().catch((error: unknown) => {
    holding.error ??= error;
    throw error;
  });
  holding.writing = writing;
  void writing.then(
    () => {
      if (holding.writing === writing) holding.writing = undefined;
    },
    () => undefined,
  );
  return writing;
}

/** Writes what is held now and waits for it (a writer bounding what it holds). */
export async function flushHeld(trx: Knex.Transaction): Promise<void> {
  const holding = holdings.get(trx);
  if (holding) await release(holding);
}

/** Runs `work` in `trx` with write-behind; what is still held is written before it returns. */
export async function writeBehind<T>(trx: Knex.Transaction, work: () => Promise<T>): Promise<T> {
  if (holdings.has(trx)) return work();
  const connection = (await trx.client.acquireConnection()) as PgConnection;
  const original = connection.query;
  const holding: Holding = {
    parts: new Map(),
    send: (statement) => original.call(connection, statement) as Promise<unknown>,
  };
  connection.query = function heldFirst(this: PgConnection, ...args: unknown[]): unknown {
    const first = args[0] as string | { text?: unknown } | undefined;
    const text = typeof first === 'string' ? first : first?.text;
    if (typeof text === 'string' && /^\s*ROLLBACK\b/i.test(text) && !/^\s*ROLLBACK\s+TO\b/i.test(text)) {
      for (const part of holding.parts.values()) part.take(); // the transaction ends: nothing to write
      return original.apply(this, args);
    }
    const writing = release(holding);
    if (!writing) return original.apply(this, args);
    if (typeof (first as { submit?: unknown } | undefined)?.submit === 'function') {
      // a submittable (a query stream) must be returned as is, so it cannot wait: refuse rather than overtake
      throw new Error('write-behind: a streaming query cannot run while held writes are being written');
    }
    // pg calls back (knex) or returns a promise (prepared.ts): the statement runs once the held ones are written
    const callback = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as (error: unknown) => void) : undefined;
    const after = writing.then(() => original.apply(this, args));
    if (!callback) return after;
    after.catch((error: unknown) => callback(error));
    return undefined;
  };
  holdings.set(trx, holding);
  try {
    const result = await work();
    await flushHeld(trx);
    return result;
  } catch (error) {
    throw holding.error ?? error;
  } finally {
    connection.query = original;
    holdings.delete(trx);
    await trx.client.releaseConnection(connection);
  }
}
