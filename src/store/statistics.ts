/**
 * Planner statistics kept right after large writes. A transaction Bundle that
 * loads thousands of rows leaves PostgreSQL planning on the old row counts
 * (an empty table's) until autovacuum analyses the tables a minute later;
 * searches meanwhile take plans made for a few rows. This observer of the
 * executor's unit-of-work transactions reads, as their last statement, how
 * many rows each table got (`pg_stat_xact_user_tables`), adds them up per
 * table across transactions, and once a table's count passes autovacuum's own
 * rule (ANALYZE_BASE + ANALYZE_FRACTION × its rows as last analysed) runs
 * `ANALYZE` on it: after the commit, outside any request, debounced, one
 * table at a time. Never holds a request back, never fails one (an ANALYZE
 * that fails is left to autovacuum).
 */
import type { CommitObserver, Executor } from './executor';

/** Rows written per table by one transaction, with the table's size as last analysed (-1: never). */
export type TableWrites = { table: string; rows: number; reltuples: number }[];

export interface PlannerStatisticsOptions {
  /** Rows a table takes before it is analysed again, beyond ANALYZE_FRACTION of its size (default 200). */
  base?: number;
  /** The share of a table's analysed size that must change (default 0.1). */
  fraction?: number;
  /** Transactions committing within this time are analysed together (default 100 ms). */
  debounceMs?: number;
}

const WRITES_SQL = `
  SELECT s.relname AS table, (s.n_tup_ins + s.n_tup_upd + s.n_tup_del)::int AS rows, c.reltuples::float8 AS reltuples
  FROM pg_stat_xact_user_tables s JOIN pg_class c ON c.oid = s.relid
  WHERE s.n_tup_ins + s.n_tup_upd + s.n_tup_del > 0`;

export class PlannerStatistics implements CommitObserver<TableWrites> {
  private readonly base: number;
  private readonly fraction: number;
  private readonly debounceMs: number;
  /** Rows written per table since it was last analysed here. */
  private readonly written = new Map<string, number>();
  private readonly due = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  /** `pool`: where ANALYZE runs (outside every transaction). */
  constructor(private readonly pool: () => Executor, options: PlannerStatisticsOptions = {}) {
    this.base = options.base ?? 200;
    this.fraction = options.fraction ?? 0.1;
    this.debounceMs = options.debounceMs ?? 100;
  }

  async beforeCommit(trx: Executor): Promise<TableWrites> {
    const result = await trx.query<{ table: string; rows: number; reltuples: number }>(WRITES_SQL, [], 'named');
    return result.rows;
  }

  committed(writes: TableWrites): void {
    for (const { table, rows, reltuples } of writes) {
      const total = (this.written.get(table) ?? 0) + rows;
      if (total >= this.base + this.fraction * Math.max(reltuples, 0)) {
        this.written.delete(table);
        this.due.add(table);
      } else this.written.set(table, total);
    }
    if (this.due.size > 0) this.schedule();
  }

  /** Waits for the ANALYZE under way; drops what is still due. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due.clear();
    await this.running;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.analyseDue());
    }, this.debounceMs);
    this.timer.unref();
  }

  private async analyseDue(): Promise<void> {
    while (this.due.size > 0 && !this.closed) {
      const [table] = this.due;
      this.due.delete(table);
      await this.pool().query(`ANALYZE "${table.replace(/"/g, '""')}"`, [], 'each').catch(() => undefined);
    }
  }
}
