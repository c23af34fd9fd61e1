/**
 * Statements sent as named prepared statements, so PostgreSQL parses and
 * plans a statement shape once per connection (and, after five runs, may
 * keep a generic plan) instead of once per request: for a search with the
 * access predicate, planning costs as much as running it.
 *
 * A text is named once it has been seen `after` times (a shape the traffic
 * repeats, not a one-off search), and at most `limit` texts per process are
 * ever named, so every connection's plan cache stays bounded; the rest run
 * unnamed. Bindings are positional `?` (knex raw style); fragments never
 * hold a literal `?`. Statements are sent by executor.ts.
 */
import { createHash } from 'node:crypto';

export interface StatementCacheOptions {
  /** Runs of a text before it is named (default 2). */
  after?: number;
  /** Most texts named per process (default 500). */
  limit?: number;
}

export class StatementCache {
  private readonly named = new Map<string, { name: string; text: string }>();
  private seen = new Map<string, number>();
  private readonly after: number;
  private readonly limit: number;

  constructor(options: StatementCacheOptions = {}) {
    this.after = options.after ?? 2;
    this.limit = options.limit ?? 500;
  }

  /** The name and `$n` text of a statement, or just its text while it is not (yet) named. */
  statement(sql: string): { name?: string; text: string } {
    const known = this.named.get(sql);
    if (known) return known;
    const text = positional(sql);
    if (this.named.size >= this.limit) return { text };
    const runs = (this.seen.get(sql) ?? 0) + 1;
    if (runs <= this.after) {
      if (this.seen.size >= 10 * this.limit) this.seen = new Map(); // forget one-off shapes
      this.seen.set(sql, runs);
      return { text };
    }
    this.seen.delete(sql);
    const statement = { name: `carnet_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
    this.named.set(sql, statement);
    return statement;
  }
}

function positional(sql: string): string {
  let position = 0;
  return sql.replace(/\?/g, () => `$${++position}`);
}

/** The process's named statements: reads by key, writes, index writes, lookups — plans that do not depend on the values. */
export const namedWhenRepeated = new StatementCache();

/**
 * Never named: parsed and planned at every run, for statements whose best
 * plan depends on the values (searches over skewed data: a generic plan for
 * `type=X&_total=accurate` or a non-selective `_has` was measured 3× slower).
 */
export const planEachTime = new StatementCache({ limit: 0 });
