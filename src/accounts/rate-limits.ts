/**
 * Fixed-window counters in PostgreSQL (`rate_limits`), shared by every server process, so a
 * brute force spread over WORKERS processes or machines still meets one limit. The http layer
 * plugs them into express-rate-limit as its store; keys are already keyed hashes or IPs, never
 * a NIR in clear.
 */
import type { Executor } from '../store/executor';

export class RateCounters {
  constructor(
    private readonly sql: Executor,
    private readonly windowMs: number,
  ) {}

  /** Counts one hit for `key`: the hits of the current window and when it ends. */
  async increment(key: string): Promise<{ totalHits: number; resetTime: Date }> {
    const result = await this.sql.query<{ hits: number; reset_at: Date }>(
      `INSERT INTO rate_limits AS r (key, hits, reset_at) VALUES (?, 1, now() + make_interval(secs => ?))
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.reset_at <= now() THEN 1 ELSE r.hits + 1 END,
         reset_at = CASE WHEN r.reset_at <= now() THEN EXCLUDED.reset_at ELSE r.reset_at END
       RETURNING hits, reset_at`,
      [key, this.windowMs / 1000],
    );
    return { totalHits: result.rows[0].hits, resetTime: result.rows[0].reset_at };
  }

  async decrement(key: string): Promise<void> {
    await this.sql.query('UPDATE rate_limits SET hits = GREATEST(hits - 1, 0) WHERE key = ?', [key]);
  }

  async reset(key: string): Promise<void> {
    await this.sql.query('DELETE FROM rate_limits WHERE key = ?', [key]);
  }

  /** Forgets windows that ended (the lifecycle job calls it). */
  async sweep(): Promise<void> {
    await this.sql.query('DELETE FROM rate_limits WHERE reset_at < now()');
  }
}
