/**
 * The state of a space (§7) as time moves it: pending for six weeks, then open by itself
 * (lazily, when a rule asks, and by the periodic job), with an email 48 hours after the
 * automatic opening; closed spaces purged after the retention period. Answers the write
 * rules' question "may documents be submitted to X's space?" (access/write-rules.ts
 * PatientSpaces): yes for open and active spaces and for Patients created directly through
 * the FHIR API (no account); no while pending, and for opposed or closed ones.
 * Never reads or changes health data itself; the purge calls the erasure.
 */
import type { Executor } from '../store/executor';
import type { PatientSpaces } from '../access/write-rules';
import { DAY, HOUR, type Clock } from './clock';
import type { AccountMessages } from './messages';

export const OPPOSITION_PERIOD_MS = 42 * DAY; // six weeks
export const OPENING_NOTICE_DELAY_MS = 48 * HOUR;

export type SpaceState = 'pending' | 'open' | 'active' | 'opposed' | 'closed';

export interface SpaceLifecycleOptions {
  sql: Executor;
  clock: Clock;
  messages: AccountMessages;
  /** Physically erases X (accounts/erasure.ts), in the given transaction. */
  erase: (sql: Executor, patientId: string) => Promise<unknown>;
}

export class SpaceLifecycle implements PatientSpaces {
  constructor(private readonly options: SpaceLifecycleOptions) {}

  /** The state of X's space: undefined when X has no account (created through the FHIR API). */
  async stateOf(patientId: string, sql: Executor = this.options.sql): Promise<SpaceState | undefined> {
    const result = await sql.query<{ state: SpaceState; opens_at: Date | null }>(`SELECT state, opens_at FROM accounts WHERE subject = ?`, [`Patient/${patientId}`]);
    const row = result.rows[0];
    if (!row) return undefined;
    if (row.state === 'pending' && row.opens_at && row.opens_at.getTime() <= this.options.clock.now().getTime()) {
      await this.openDue(sql, patientId);
      return (await this.stateOf(patientId, sql)) ?? 'open';
    }
    return row.state;
  }

  async isOpen(patientId: string): Promise<boolean> {
    const state = await this.stateOf(patientId);
    return state === undefined || state === 'open' || state === 'active';
  }

  /** Opens every pending space whose six weeks are over (or only X's); returns how many opened. */
  async openDue(sql: Executor = this.options.sql, patientId?: string): Promise<number> {
    const now = this.options.clock.now();
    const result = await sql.query(
      `UPDATE accounts SET state = 'open', opened_at = ?, opening_notice_at = ?
        WHERE kind = 'patient' AND state = 'pending' AND opens_at <= ? ${patientId ? 'AND subject = ?' : ''}`,
      [now, new Date(now.getTime() + OPENING_NOTICE_DELAY_MS), now, ...(patientId ? [`Patient/${patientId}`] : [])],
    );
    return result.rowCount ?? 0;
  }

  /** Sends the "your space exists" notice 48 hours after an automatic opening; returns how many were queued. */
  async sendOpeningNotices(): Promise<number> {
    const now = this.options.clock.now();
    return this.options.sql.transaction(async (trx) => {
      const due = await trx.query<{ subject: string; email: string | null }>(
        `UPDATE accounts SET opening_notice_at = NULL
          WHERE subject IN (SELECT subject FROM accounts WHERE opening_notice_at <= ? AND state IN ('open', 'active') FOR UPDATE SKIP LOCKED)
          RETURNING subject, email`,
        [now],
      );
      for (const row of due.rows) {
        await this.options.messages.queue(trx, row.email ? { channel: 'email', to: row.email, template: 'opening-notice', params: {} } : { channel: 'letter', to: row.subject, template: 'opening-notice', params: {} });
      }
      return due.rows.length;
    });
  }

  /** Erases the spaces closed longer ago than the retention period, keeping the record of their closure. */
  async purgeExpired(): Promise<number> {
    const now = this.options.clock.now();
    let purged = 0;
    for (;;) {
      const done = await this.options.sql.transaction(async (trx) => {
        const next = await trx.query<{ patient_id: string }>(
          `SELECT patient_id FROM accounts WHERE kind = 'patient' AND state = 'closed' AND purged_at IS NULL AND purge_after <= ? ORDER BY purge_after LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [now],
        );
        const patientId = next.rows[0]?.patient_id;
        if (!patientId) return false;
        await this.options.erase(trx, patientId);
        await trx.query(`DELETE FROM accounts WHERE patient_id = ? AND kind = 'representative'`, [patientId]);
        await trx.query(`UPDATE accounts SET purged_at = ?, email = NULL, phone = NULL, nir_key = NULL, vitale_key = NULL, code_key = NULL WHERE subject = ?`, [now, `Patient/${patientId}`]);
        return true;
      });
      if (!done) return purged;
      purged++;
    }
  }

  /** One pass of the periodic job. */
  async tick(): Promise<{ opened: number; notices: number; purged: number }> {
    const opened = await this.openDue();
    const notices = await this.sendOpeningNotices();
    const purged = await this.purgeExpired();
    return { opened, notices, purged };
  }
}

/** Runs the lifecycle job every `intervalMs` (in the server process, like the notification worker). */
export class SpaceLifecycleJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly lifecycle: SpaceLifecycle,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.lifecycle
        .tick()
        .catch(this.onError)
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
