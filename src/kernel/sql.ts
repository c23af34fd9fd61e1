/**
 * The database port: what the store, search, access and audit layers send
 * SQL through (one executor per session: the pool, or its transaction). Types
 * only; src/store/executor.ts implements them over pg, and is the only
 * module that talks to the driver.
 */

/** A value bound to a positional `?`. */
export type SqlBinding = string | number | boolean | Date | Buffer | null | readonly SqlBinding[] | readonly (string | number)[];

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** Names a statement's text once its shape repeats (store/statements.ts). */
export interface StatementNaming {
  statement(sql: string): { name?: string; text: string };
}

/** `named`: a prepared statement once its shape repeats (the default); `each`: planned at every run (searches); or a naming of one's own. */
export type Planning = 'named' | 'each' | StatementNaming;

/** A statement held back by a unit of work. */
export interface HeldStatement {
  sql: string;
  bindings: readonly unknown[];
}

/** Something holding writes back: gives the statement for what it holds and forgets it (undefined: nothing held). */
export interface HeldPart {
  take(): HeldStatement | undefined;
}

/** The writes held in one transaction, written ahead of its next statement. */
export interface UnitOfWork {
  /** The part `key` of this unit, opened with `open` the first time. */
  part<T extends HeldPart>(key: object, open: () => T): T;
  /** Writes what is held now and waits for it (a writer bounding what it holds). */
  flush(): Promise<void>;
  /**
   * Runs a statement that reads nothing the unit holds (drawing ids from a
   * sequence) without writing the held statements first, so a writer can go
   * on holding.
   */
  ahead<T = Record<string, unknown>>(sql: string, bindings?: readonly SqlBinding[]): Promise<QueryResult<T>>;
}

export interface TransactionOptions {
  /** Hold new rows and index rows and write them together (a transaction Bundle). */
  unitOfWork?: boolean;
}

export interface SqlExecutor {
  query<T = Record<string, unknown>>(sql: string, bindings?: readonly SqlBinding[], planning?: Planning): Promise<QueryResult<T>>;
  /** Runs `work` in a transaction; inside one already, in the same transaction, flat (no savepoint). */
  transaction<T>(work: (trx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** True inside a transaction. */
  readonly inTransaction: boolean;
  /** The unit of work of this transaction, when it has one. */
  readonly unit?: UnitOfWork;
}

/** A pooled connection kept by one user until it is released: its statements never queue behind the pool's other users. */
export interface ReservedConnection {
  query<T = Record<string, unknown>>(sql: string, bindings?: readonly SqlBinding[], planning?: Planning): Promise<QueryResult<T>>;
  /** Gives the connection back (it is taken again on the next query). */
  release(): Promise<void>;
}

/** The pool: statements, transactions, and connections kept for a steady writer (the audit trail's lanes). */
export interface SqlPool extends SqlExecutor {
  reserve(): ReservedConnection;
}
