/**
 * The ledger of client assertions already used (CONTRACT §8: a `jti` is never accepted twice
 * within its lifetime), kept in PostgreSQL (`client_assertions`) so that every server process
 * of the database refuses a replay another one accepted. One statement decides: the INSERT of
 * (client, jti) wins once; a row whose assertion has expired may be taken again (that assertion
 * itself can no longer pass). Expired rows are purged, at most once a minute per process.
 *
 * Must never be asked before the assertion's signature is verified (an unsigned request must not
 * burn a client's jti), and never stores anything of the assertion but its client and jti.
 */
import type { Executor } from '../store/executor';

const PURGE_EVERY_MS = 60_000;

export class AssertionLedger {
  private purgedAt = 0;

  constructor(private readonly sql: Executor) {}

  /** Records (client, jti) until `expiresAt` (seconds since the epoch); false when it was already used. */
  async firstUse(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    await this.purge();
    const result = await this.sql.query<{ jti: string }>(
      `INSERT INTO client_assertions (client_id, jti, expires_at) VALUES (?, ?, to_timestamp(?))
       ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE client_assertions.expires_at < now()
       RETURNING jti`,
      [clientId, jti, expiresAt],
    );
    return result.rows.length === 1;
  }

  private async purge(): Promise<void> {
    if (Date.now() - this.purgedAt < PURGE_EVERY_MS) return;
    this.purgedAt = Date.now();
    await this.sql.query(`DELETE FROM client_assertions WHERE expires_at < now() - interval '1 minute'`);
  }
}
