/**
 * The account-message worker (CONTRACT §7): claims due rows of account_messages, opens their
 * sealed params, renders them (src/notify/account-templates.ts) in the person's language and
 * hands them to the transport of their channel; settles each row `sent` (params wiped) or for
 * a later attempt with exponential backoff, `failed` (wiped) after `maxAttempts`. A message
 * whose params cannot be opened or rendered fails at once. Wakes when a queueing transaction
 * commits (LISTEN on ACCOUNT_MESSAGE_CHANNEL when given the database URL) or on `wake()`, else
 * polls every `pollMs`.
 *
 * Exactly-once, as the notification worker (src/notify/worker.ts): a row is sent only by the
 * holder of its live claim (renewed and checked right before sending) and settled with the same
 * token, so two workers never send one message twice; a worker that died after claiming leaves
 * the row to another once its lease lapsed.
 *
 * Logs "account message sent" (or "written", for the development outbox) with the channel and
 * the template only: never a recipient, a code or any text.
 */
import type { Logger } from 'pino';
import { ChannelListener } from '../store/listener';
import type { Executor } from '../store/executor';
import { ACCOUNT_MESSAGE_CHANNEL, type AccountOutbox, type DueMessage } from './account-outbox';
import { renderAccountMessage, UnrenderableMessage } from './account-templates';
import { WorkerLoop } from './loop';
import { smtpErrorSummary } from './mailer';
import type { RetryPolicy } from './outbox';
import type { MessageTransports } from './transports';

export interface AccountWorkerOptions {
  db: Executor;
  outbox: AccountOutbox;
  transports: MessageTransports;
  logger: Logger;
  /** LISTENs there for committed queues (one connection of its own); unset: polling only. */
  databaseUrl?: string;
  pollMs?: number; // 1000
  batchSize?: number; // 50
  concurrency?: number; // 4 messages in flight
  retry?: Partial<RetryPolicy>; // 2 s doubling, at most 10 min, 8 attempts
}

export class AccountMessageWorker {
  private readonly loop: WorkerLoop;
  private listener: ChannelListener | undefined;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: AccountWorkerOptions) {
    this.retry = { retryBaseMs: 2_000, maxBackoffMs: 600_000, maxAttempts: 8, ...options.retry };
    this.loop = new WorkerLoop(
      () => this.runOnce(),
      (error, failures) => options.logger.error({ err: (error as Error).name, failures }, 'account messages: worker pass failed'),
      options.pollMs ?? 1000,
    );
  }

  get started(): boolean {
    return this.loop.started;
  }

  /** Starts the loop, and resolves once the listener listens (or failed: it retries, and polling goes on). */
  async start(): Promise<void> {
    if (this.loop.started) return;
    this.loop.start();
    const url = this.options.databaseUrl;
    if (!url) return;
    const wake = () => this.wake();
    this.listener = new ChannelListener(url, ACCOUNT_MESSAGE_CHANNEL, { onNotify: wake, onUp: wake, onDown: () => {} });
    await this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    this.listener = undefined;
    await this.loop.stop();
  }

  /** Looks at the outbox now. */
  wake(): void {
    this.loop.wake();
  }

  /** One pass: claims, sends and settles due rows; returns how many it handled. */
  async runOnce(): Promise<number> {
    const claim = await this.options.outbox.claim(this.options.db, this.options.batchSize ?? 50);
    if (!claim) return 0;
    let next = 0;
    const lane = async () => {
      while (next < claim.messages.length) await this.deliver(claim.token, claim.messages[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 4, claim.messages.length) }, lane));
    return claim.messages.length;
  }

  private async deliver(token: string, message: DueMessage): Promise<void> {
    const { db, outbox, logger } = this.options;
    const said = { channel: message.channel, template: message.template };
    try {
      const rendered = this.render(message);
      if (typeof rendered === 'string') {
        logger.error({ ...said, reason: rendered }, 'account message failed');
        await outbox.markFailed(db, token, message.id, rendered);
        return;
      }
      if (!(await outbox.renew(db, token, message.id))) return; // the lease lapsed: another worker owns the row now
      const transport = this.options.transports[message.channel];
      try {
        await transport.send({ ...message, params: message.params ?? {}, subject: rendered.subject, text: rendered.text });
      } catch (error) {
        const summary = smtpErrorSummary(error);
        logger.warn({ ...said, attempt: message.attempts, error: summary }, 'account message: sending failed, will retry');
        await outbox.markRetry(db, token, message.id, summary, this.retry);
        return;
      }
      await this.settleSent(token, message.id);
      logger.info(said, `account message ${transport.outcome}`);
    } catch (error) {
      logger.error({ ...said, err: (error as Error).name }, 'account messages: outbox error');
    }
  }

  /** The subject and text, or why the message can never be sent. */
  private render(message: DueMessage): { subject: string; text: string } | string {
    if (!message.params) return 'params cannot be opened (another secret?)';
    try {
      return renderAccountMessage({ ...message, params: message.params });
    } catch (error) {
      if (error instanceof UnrenderableMessage) return error.message;
      throw error;
    }
  }

  /** `sent` must land: retried a few times, since a lapsed lease would mean a second message. */
  private async settleSent(token: string, id: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.outbox.markSent(this.options.db, token, id);
        return;
      } catch (error) {
        if (attempt >= 4) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
  }
}
