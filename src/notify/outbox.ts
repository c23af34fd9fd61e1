/**
 * The durable outbox of notifications: rows are inserted by the audit trail in
 * the AuditEvent's own transaction; this module claims, renews and settles
 * them. A claim is a random token plus a lease (`claimed_until`), taken with
 * FOR UPDATE SKIP LOCKED, so two workers never hold the same row; every
 * settlement checks the token, so a worker whose lease lapsed (it crashed or
 * stalled, and another took over) can neither send nor settle. A row is never
 * deleted: it ends `sent`, `skipped` (no email address) or `failed` (after
 * `maxAttempts`), and stays for the record; a row held back (its event names
 * a document hidden from the patient) stays `pending`, due again later, its
 * attempt not counted.
 */
import { randomUUID } from 'node:crypto';
import type { Executor } from '../store/executor';

export interface OutboxItem {
  id: number;
  /** The AuditEvent's row (`audit_events.seq`). */
  auditSeq: number;
  patientId: string;
  emergency: boolean;
  attempts: number;
  recorded: Date;
  agent: string;
  action: string;
  subtype: string;
  outcome: number;
  purpose: string | null;
}

export interface Claim {
  token: string;
  items: OutboxItem[];
}

export interface RetryPolicy {
  retryBaseMs: number;
  maxBackoffMs: number;
  maxAttempts: number;
}

interface ItemRow {
  id: string;
  audit_seq: string;
  patient_id: string;
  emergency: boolean;
  attempts: number;
  recorded: Date;
  agent: string;
  action: string;
  subtype: string;
  outcome: number;
  purpose: string | null;
}

const fromRow = (row: ItemRow): OutboxItem => ({
  id: Number(row.id),
  auditSeq: Number(row.audit_seq),
  patientId: row.patient_id,
  emergency: row.emergency,
  attempts: row.attempts,
  recorded: row.recorded,
  agent: row.agent,
  action: row.action,
  subtype: row.subtype,
  outcome: Number(row.outcome),
  purpose: row.purpose,
});

const FREE = '(claimed_until IS NULL OR claimed_until < now())';
const CLAIM_SET = 'claim_token = ?, claimed_until = now() + make_interval(secs => ?), attempts = o.attempts + 1';
const RETURNING = 'RETURNING o.id, o.audit_seq, o.patient_id, o.emergency, o.attempts, e.recorded, e.agent, e.action, e.subtype, e.outcome, e.purpose';

export class Outbox {
  constructor(private readonly db: Executor, private readonly leaseMs: number) {}

  /**
   * Claims up to `limit` due rows; with a digest window, also every other
   * pending non-emergency row of the same patients (they go out in the digest).
   */
  async claim(limit: number, digest: boolean): Promise<Claim | undefined> {
    const token = randomUUID();
    const lease = this.leaseMs / 1000;
    const due = await this.db.query<ItemRow>(
      `WITH picked AS (
         SELECT id FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= now() AND ${FREE}
         ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
       UPDATE notification_outbox o SET ${CLAIM_SET} FROM audit_events e
       WHERE o.id IN (SELECT id FROM picked) AND e.seq = o.audit_seq ${RETURNING}`,
      [limit, token, lease],
    );
    if (due.rows.length === 0) return undefined;
    const items = due.rows.map(fromRow);
    const patients = [...new Set(items.filter((item) => !item.emergency).map((item) => item.patientId))];
    if (digest && patients.length > 0) {
      const companions = await this.db.query<ItemRow>(
        `WITH picked AS (
           SELECT id FROM notification_outbox WHERE status = 'pending' AND NOT emergency AND patient_id = ANY(?) AND ${FREE}
           FOR UPDATE SKIP LOCKED)
         UPDATE notification_outbox o SET ${CLAIM_SET} FROM audit_events e
         WHERE o.id IN (SELECT id FROM picked) AND e.seq = o.audit_seq ${RETURNING}`,
        [patients, token, lease],
      );
      items.push(...companions.rows.map(fromRow));
    }
    return { token, items };
  }

  /** Extends the lease right before sending; false when any row is no longer held by this token. */
  async renew(token: string, ids: number[]): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE notification_outbox SET claimed_until = now() + make_interval(secs => ?)
       WHERE id = ANY(?) AND claim_token = ? AND status = 'pending' AND claimed_until > now()`,
      [this.leaseMs / 1000, ids, token],
    );
    return result.rowCount === ids.length;
  }

  async markSent(token: string, ids: number[], messageId: string): Promise<void> {
    await this.db.query(
      `UPDATE notification_outbox SET status = 'sent', sent_at = now(), message_id = ?, claim_token = NULL, claimed_until = NULL, last_error = NULL
       WHERE id = ANY(?) AND claim_token = ?`,
      [messageId, ids, token],
    );
  }

  async markSkipped(token: string, ids: number[], reason: string): Promise<void> {
    await this.db.query(
      `UPDATE notification_outbox SET status = 'skipped', last_error = ?, claim_token = NULL, claimed_until = NULL WHERE id = ANY(?) AND claim_token = ?`,
      [reason, ids, token],
    );
  }

  /** Releases rows not to be sent yet, due again in `holdMs`; the claim's attempt is given back. */
  async markHeld(token: string, ids: number[], holdMs: number, reason: string): Promise<void> {
    await this.db.query(
      `UPDATE notification_outbox SET attempts = greatest(attempts - 1, 0), next_attempt_at = now() + make_interval(secs => ? / 1000.0),
         last_error = ?, claim_token = NULL, claimed_until = NULL
       WHERE id = ANY(?) AND claim_token = ?`,
      [holdMs, reason, ids, token],
    );
  }

  /** Releases the rows for a later attempt (exponential backoff), or ends them `failed` after maxAttempts. */
  async markRetry(token: string, ids: number[], error: string, policy: RetryPolicy): Promise<void> {
    await this.db.query(
      `UPDATE notification_outbox
       SET status = CASE WHEN attempts >= ? THEN 'failed' ELSE 'pending' END,
           next_attempt_at = now() + make_interval(secs => least(? * power(2, greatest(attempts - 1, 0)), ?) / 1000.0),
           last_error = ?, claim_token = NULL, claimed_until = NULL
       WHERE id = ANY(?) AND claim_token = ?`,
      [policy.maxAttempts, policy.retryBaseMs, policy.maxBackoffMs, error, ids, token],
    );
  }

  /** Pending rows (for the "not sending" log line and the benchmark). */
  async pendingCount(): Promise<number> {
    const result = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM notification_outbox WHERE status = 'pending'`);
    return Number(result.rows[0].n);
  }
}
