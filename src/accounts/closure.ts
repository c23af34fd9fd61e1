/**
 * Closing a space (§7): from the closing instant nobody reaches X's data — the access
 * predicate probes `closed_spaces` on every path (access/) — every refresh token of the space
 * ends, the closure is recorded in X's activity history, and the data is kept RETENTION_YEARS
 * (10) before the retention job (spaces.ts) erases it, leaving the accounts row as the record
 * that X's space existed and was closed. Works for a Patient with no account too (created
 * through the FHIR API): the row is made closed.
 */
import { randomUUID } from 'node:crypto';
import type { Executor } from '../store/executor';
import type { PatientCaller } from '../kernel/caller';
import type { AuditRecord } from '../audit/trail';
import { buildAuditEvent } from '../audit/event';
import type { Clock } from './clock';
import type { AccountMessages } from './messages';

export interface ClosureOptions {
  sql: Executor;
  clock: Clock;
  messages: AccountMessages;
  retentionYears: number;
  /** Stores the closure's AuditEvent in X's chain. */
  record: (records: AuditRecord[]) => Promise<void>;
  observer: string;
}

export class Closure {
  constructor(private readonly options: ClosureOptions) {}

  async close(caller: PatientCaller): Promise<{ closed: string; purgeAfter: string }> {
    const { sql, clock, retentionYears } = this.options;
    const patientId = caller.patientId;
    const now = clock.now();
    const purgeAfter = new Date(now);
    purgeAfter.setUTCFullYear(purgeAfter.getUTCFullYear() + retentionYears);
    await sql.transaction(async (trx) => {
      await trx.query(
        `INSERT INTO accounts (subject, patient_id, kind, state, created_by, created_at, closed_at, purge_after)
         VALUES (?, ?, 'patient', 'closed', ?, ?, ?, ?)
         ON CONFLICT (subject) DO UPDATE SET state = 'closed', closed_at = EXCLUDED.closed_at, purge_after = EXCLUDED.purge_after, code_key = NULL, code_expires = NULL, opening_notice_at = NULL`,
        [`Patient/${patientId}`, patientId, `Patient/${patientId}`, now, now, purgeAfter],
      );
      await trx.query(`UPDATE accounts SET state = 'closed', closed_at = ?, code_key = NULL, code_expires = NULL WHERE patient_id = ? AND kind = 'representative'`, [now, patientId]);
      await trx.query('UPDATE refresh_tokens SET revoked_at = ? WHERE subject IN (SELECT subject FROM accounts WHERE patient_id = ?) AND revoked_at IS NULL', [now, patientId]);
      await trx.query('INSERT INTO closed_spaces (patient_id, closed_at) VALUES (?, ?) ON CONFLICT (patient_id) DO NOTHING', [patientId, now]);
      await this.notify(trx, patientId);
    });
    await this.options.record([this.closureEvent(caller, now)]);
    return { closed: now.toISOString(), purgeAfter: purgeAfter.toISOString() };
  }

  private async notify(trx: Executor, patientId: string): Promise<void> {
    const contacts = await trx.query<{ email: string | null; phone: string | null }>(
      `SELECT l.email, l.phone FROM accounts a JOIN account_logins l ON l.nir_key = a.login WHERE a.subject = ?`,
      [`Patient/${patientId}`],
    );
    const contact = contacts.rows[0];
    if (contact?.email) await this.options.messages.queue(trx, { channel: 'email', to: contact.email, template: 'space-closed', params: {} });
    else if (contact?.phone) await this.options.messages.queue(trx, { channel: 'sms', to: contact.phone, template: 'space-closed', params: {} });
  }

  /** The closure in X's activity history: X deleted (closed) their space. */
  private closureEvent(caller: PatientCaller, recorded: Date): AuditRecord {
    const { event, columns } = buildAuditEvent({
      id: randomUUID(),
      recorded,
      caller,
      request: { method: 'POST', path: 'account/close', query: [], headers: {} },
      interaction: { subtype: 'delete', action: 'D', query: false },
      status: 200,
      patientId: caller.patientId,
      touched: [`Patient/${caller.patientId}`],
      observer: this.options.observer,
    });
    event.outcomeDesc = 'space closed by its patient';
    return { patientId: caller.patientId, event, columns };
  }
}
