/**
 * The table `account_messages` (migration …_account_messages): queueing a message in the
 * caller's transaction, and claiming, renewing and settling due rows for the worker. A queued
 * row's params are sealed (Sealer, `account-messages` secret, a random nonce so equal params
 * never give equal text); settling a row `sent` or `failed` wipes them in the same UPDATE. A
 * claim is a random token plus a lease taken with FOR UPDATE SKIP LOCKED, and every settlement
 * checks the token, as in notification_outbox (src/notify/outbox.ts). Queueing also sends
 * NOTIFY on ACCOUNT_MESSAGE_CHANNEL, which PostgreSQL delivers only if the transaction commits:
 * the worker wakes at once, and never for a rolled-back message.
 * Never returns or logs a code outside `DueMessage.params`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Sealer } from '../kernel/sealed';
import type { Executor } from '../store/executor';
import type { MessageChannel, MessageLanguage, MessageTemplate, OutgoingMessage } from './account-message';
import type { RetryPolicy } from './outbox';

export const ACCOUNT_MESSAGE_CHANNEL = 'carnet_account_messages';

export interface DueMessage {
  id: number;
  channel: MessageChannel;
  to: string;
  template: MessageTemplate;
  lang: MessageLanguage;
  /** Undefined when the sealed params cannot be opened (another secret, a changed row). */
  params: Record<string, string> | undefined;
  attempts: number;
}

interface Row {
  id: string;
  channel: MessageChannel;
  recipient: string;
  template: MessageTemplate;
  lang: MessageLanguage;
  params: string | null;
  attempts: number;
}

const isParams = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');

export class AccountOutbox {
  constructor(private readonly sealer: Sealer, private readonly leaseMs = 60_000) {}

  /** One statement on `sql`: the row, and the NOTIFY that PostgreSQL sends at commit. */
  async queue(sql: Executor, message: OutgoingMessage): Promise<void> {
    const sealed = this.sealer.seal({ nonce: randomBytes(12).toString('base64url'), params: message.params });
    await sql.query(
      `WITH queued AS (INSERT INTO account_messages (channel, recipient, template, lang, params) VALUES (?, ?, ?, ?, ?) RETURNING id)
       SELECT pg_notify(?, '') FROM queued`,
      [message.channel, message.to, message.template, message.lang ?? 'fr', sealed, ACCOUNT_MESSAGE_CHANNEL],
    );
  }

  /** Claims up to `limit` due rows under a fresh token (each claim counts as an attempt). */
  async claim(db: Executor, limit: number): Promise<{ token: string; messages: DueMessage[] } | undefined> {
    const token = randomUUID();
    const result = await db.query<Row>(
      `WITH picked AS (
         SELECT id FROM account_messages
         WHERE status = 'pending' AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
         ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
       UPDATE account_messages m SET claim_token = ?, claimed_until = now() + make_interval(secs => ?), attempts = m.attempts + 1
       WHERE m.id IN (SELECT id FROM picked)
       RETURNING m.id, m.channel, m.recipient, m.template, m.lang, m.params, m.attempts`,
      [limit, token, this.leaseMs / 1000],
    );
    if (result.rows.length === 0) return undefined;
    return { token, messages: result.rows.map((row) => this.fromRow(row)) };
  }

  /** Extends the lease right before sending; false when the row is no longer held by this token. */
  async renew(db: Executor, token: string, id: number): Promise<boolean> {
    const result = await db.query(
      `UPDATE account_messages SET claimed_until = now() + make_interval(secs => ?)
       WHERE id = ? AND claim_token = ? AND status = 'pending' AND claimed_until > now()`,
      [this.leaseMs / 1000, id, token],
    );
    return result.rowCount === 1;
  }

  async markSent(db: Executor, token: string, id: number): Promise<void> {
    await db.query(
      `UPDATE account_messages SET status = 'sent', sent_at = now(), params = NULL, claim_token = NULL, claimed_until = NULL, last_error = NULL
       WHERE id = ? AND claim_token = ?`,
      [id, token],
    );
  }

  /** Ends the row `failed` at once (its params can never be sent), wiping them. */
  async markFailed(db: Executor, token: string, id: number, error: string): Promise<void> {
    await db.query(
      `UPDATE account_messages SET status = 'failed', params = NULL, last_error = ?, claim_token = NULL, claimed_until = NULL WHERE id = ? AND claim_token = ?`,
      [error, id, token],
    );
  }

  /** Releases the row for a later attempt (exponential backoff), or ends it `failed`, wiped, after maxAttempts. */
  async markRetry(db: Executor, token: string, id: number, error: string, policy: RetryPolicy): Promise<void> {
    await db.query(
      `UPDATE account_messages
       SET status = CASE WHEN attempts >= ? THEN 'failed' ELSE 'pending' END,
           params = CASE WHEN attempts >= ? THEN NULL ELSE params END,
           next_attempt_at = now() + make_interval(secs => least(? * power(2, greatest(attempts - 1, 0)), ?) / 1000.0),
           last_error = ?, claim_token = NULL, claimed_until = NULL
       WHERE id = ? AND claim_token = ?`,
      [policy.maxAttempts, policy.maxAttempts, policy.retryBaseMs, policy.maxBackoffMs, error, id, token],
    );
  }

  async pendingCount(db: Executor): Promise<number> {
    const result = await db.query<{ n: string }>(`SELECT count(*) AS n FROM account_messages WHERE status = 'pending'`);
    return Number(result.rows[0].n);
  }

  private fromRow(row: Row): DueMessage {
    const opened = row.params === null ? undefined : (this.sealer.open(row.params) as { params?: unknown } | undefined);
    return {
      id: Number(row.id),
      channel: row.channel,
      to: row.recipient,
      template: row.template,
      lang: row.lang,
      params: isParams(opened?.params) ? opened.params : undefined,
      attempts: row.attempts,
    };
  }
}
