/**
 * The notification worker (CONTRACT §6): claims due outbox rows, groups them
 * into mails (one per action, one per emergency access, or one digest per
 * patient within NOTIFY_DIGEST_MINUTES), renders them in French and English,
 * sends them over SMTP and settles the rows; failures are retried with
 * exponential backoff. Runs in the server process (start/stop) or alone
 * (`npm run worker`). Without SMTP_URL it sends nothing and says so in the log.
 * Logs counts and SMTP codes only — never addresses, names, ids or content.
 *
 * A closed space's rows are settled `skipped`: nothing more is mailed about it.
 *
 * Held mails: an event that names a document hidden from X (INVISIBLE_PATIENT;
 * `holds`, answered by src/audit/hidden-events.ts) is not mailed while the
 * document stays hidden; its row is put back and asked again every `holdMs`
 * (5 min), and goes out once the document is visible to X.
 *
 * Exactly-once: a row is sent only by the holder of its live claim (the lease
 * is renewed and checked just before sending), and settled only with the same
 * token. A worker killed after claiming leaves rows that another takes after
 * the lease; the one unavoidable window — killed after the SMTP server said
 * 250 and before `sent` was written — is covered by a stable Message-ID, which
 * lets the receiving side recognise the repeat.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Executor } from '../store/executor';
import { smtpErrorSummary, smtpMailer, type Mailer } from './mailer';
import { Outbox, type OutboxItem, type RetryPolicy } from './outbox';
import { agentNames, recipientOf } from './recipients';
import type { NotifySettings } from './settings';
import { renderNotification } from './templates';
import { WorkerLoop } from './loop';

/** Which of X's events may not be mailed to X yet (their seqs among `auditSeqs`). */
export interface NotificationHold {
  heldAmong(patientId: string, auditSeqs: readonly number[]): Promise<Set<number>>;
}

export interface WorkerOptions {
  db: Executor;
  holds: NotificationHold;
  settings: NotifySettings;
  logger: Logger;
  /** Defaults to SMTP on settings.smtpUrl; none when that is unset. */
  mailer?: Mailer;
  pollMs?: number; // 1000
  leaseMs?: number; // 60 000
  batchSize?: number; // 100
  concurrency?: number; // 4 mails in flight
  retry?: Partial<RetryPolicy>; // 5 s doubling, at most 1 h, 12 attempts
  /** How often the idle "not sending" line repeats without SMTP_URL (default 5 min). */
  idleReportMs?: number;
  /** How long a held mail waits before it is asked again (default 5 min). */
  holdMs?: number;
}

const HELD = 'held: the event names a document hidden from the patient';

interface Unit {
  patientId: string;
  emergency: boolean;
  items: OutboxItem[];
}

/** Mails to send for one claim: emergencies alone, then per patient one digest or one mail per action. */
export function groupIntoMails(items: OutboxItem[], digest: boolean): Unit[] {
  const units: Unit[] = [];
  const digests = new Map<string, Unit>();
  for (const item of items) {
    if (item.emergency || !digest) {
      units.push({ patientId: item.patientId, emergency: item.emergency, items: [item] });
      continue;
    }
    let unit = digests.get(item.patientId);
    if (!unit) digests.set(item.patientId, (unit = { patientId: item.patientId, emergency: false, items: [] }));
    unit.items.push(item);
  }
  return [...units, ...digests.values()];
}

export class NotificationWorker {
  readonly outbox: Outbox;
  private readonly mailer: Mailer | undefined;
  private readonly retry: RetryPolicy;
  private readonly loop: WorkerLoop;
  private lastIdleReport = 0;
  private readonly domain: string;

  constructor(private readonly options: WorkerOptions) {
    this.outbox = new Outbox(options.db, options.leaseMs ?? 60_000);
    this.mailer = options.mailer ?? (options.settings.smtpUrl ? smtpMailer(options.settings.smtpUrl, { maxConnections: options.concurrency ?? 4 }) : undefined);
    this.retry = { retryBaseMs: 5_000, maxBackoffMs: 3_600_000, maxAttempts: 12, ...options.retry };
    this.domain = /@([^>\s]+)/.exec(options.settings.from)?.[1] ?? 'carnet.local';
    this.loop = new WorkerLoop(
      () => this.runOnce(),
      (error, failures) => options.logger.error({ err: (error as Error).name, failures }, 'notifications: worker pass failed'),
      options.pollMs ?? 1000,
    );
  }

  start(): void {
    if (this.loop.started) return;
    if (!this.mailer) this.options.logger.warn('notifications: SMTP_URL is not set, mails stay in the outbox and are not sent');
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.mailer?.close();
  }

  /** Looks at the outbox now (the audit trail calls this after storing events). */
  wake(): void {
    this.loop.wake();
  }

  /** One pass: claims, sends and settles due rows; returns how many rows it handled. */
  async runOnce(): Promise<number> {
    if (!this.mailer) {
      await this.reportIdle();
      return 0;
    }
    const digest = this.options.settings.digestMinutes > 0;
    const claim = await this.outbox.claim(this.options.batchSize ?? 100, digest);
    if (!claim) return 0;
    const units = groupIntoMails(claim.items, digest);
    const concurrency = this.options.concurrency ?? 4;
    let next = 0;
    const lane = async () => {
      while (next < units.length) await this.deliver(claim.token, units[next++], this.mailer as Mailer);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, units.length) }, lane));
    return claim.items.length;
  }

  /** The unit without its held items, which go back to the outbox; undefined when nothing is left to send. */
  private async withoutHeld(token: string, unit: Unit): Promise<Unit | undefined> {
    const closed = await this.options.db.query('SELECT 1 FROM closed_spaces WHERE patient_id = ?', [unit.patientId]);
    if (closed.rows.length > 0) {
      // A closed space is told nothing more (its closure was its last message, from the accounts).
      await this.outbox.markSkipped(token, unit.items.map((item) => item.id), 'the space is closed');
      return undefined;
    }
    const held = await this.options.holds.heldAmong(unit.patientId, unit.items.map((item) => item.auditSeq));
    if (held.size === 0) return unit;
    const heldIds = unit.items.filter((item) => held.has(item.auditSeq)).map((item) => item.id);
    await this.outbox.markHeld(token, heldIds, this.options.holdMs ?? 300_000, HELD);
    const items = unit.items.filter((item) => !held.has(item.auditSeq));
    return items.length > 0 ? { ...unit, items } : undefined;
  }

  private async deliver(token: string, claimed: Unit, mailer: Mailer): Promise<void> {
    try {
      const unit = await this.withoutHeld(token, claimed);
      if (unit) await this.send(token, unit, mailer);
    } catch (error) {
      this.options.logger.error({ events: claimed.items.length, err: (error as Error).name }, 'notifications: outbox error');
    }
  }

  private async send(token: string, unit: Unit, mailer: Mailer): Promise<void> {
    const ids = unit.items.map((item) => item.id);
    const recipient = await recipientOf(this.options.db, unit.patientId);
    if (!recipient) {
      await this.outbox.markSkipped(token, ids, 'the patient has no email address');
      return;
    }
    const names = await agentNames(this.options.db, unit.items.map((item) => item.agent));
    const mail = renderNotification(
      unit.items.map((item) => ({ ...item, agentName: names.get(item.agent) })),
      recipient.language,
      unit.emergency,
    );
    const messageId = `<${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 32)}@${this.domain}>`;
    if (!(await this.outbox.renew(token, ids))) return; // the lease lapsed: another worker owns these rows now
    try {
      await mailer.send({ from: this.options.settings.from, to: recipient.email, subject: mail.subject, text: mail.text, messageId });
    } catch (error) {
      const summary = smtpErrorSummary(error);
      this.options.logger.warn({ mails: 1, events: ids.length, attempt: unit.items[0].attempts, smtp: summary }, 'notifications: sending failed, will retry');
      await this.outbox.markRetry(token, ids, summary, this.retry);
      return;
    }
    await this.settleSent(token, ids, messageId);
  }

  /** `sent` must land: retried a few times, since a lapsed lease would mean a second mail. */
  private async settleSent(token: string, ids: number[], messageId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.outbox.markSent(token, ids, messageId);
        return;
      } catch (error) {
        if (attempt >= 4) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
  }

  private async reportIdle(): Promise<void> {
    const every = this.options.idleReportMs ?? 300_000;
    if (Date.now() - this.lastIdleReport < every) return;
    this.lastIdleReport = Date.now();
    const pending = await this.outbox.pendingCount();
    if (pending > 0) this.options.logger.info({ pending }, 'notifications: not sending (SMTP_URL is not set)');
  }
}
