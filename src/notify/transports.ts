/**
 * How a rendered account message leaves: one MessageTransport per channel (email, sms,
 * letter). Here the interface, the email transport over the existing nodemailer Mailer, and
 * the in-memory loopback tests read their codes from. Other transports: src/notify/sms.ts (the
 * SmsTransport interface a provider implements), src/notify/dev-outbox.ts (files for a
 * developer, when a channel has no real transport). A transport never logs: the worker logs
 * "sent" or "written" with the channel and template only.
 */
import type { MessageChannel, MessageLanguage, MessageTemplate } from './account-message';
import type { Mailer } from './mailer';

export interface Delivery {
  /** The row of account_messages: stable across retries (an email's Message-ID is made from it). */
  id: number;
  channel: MessageChannel;
  to: string;
  template: MessageTemplate;
  lang: MessageLanguage;
  subject: string;
  text: string;
  /** The opened params (the code): for the loopback only; a real transport sends `text`. */
  params: Record<string, string>;
}

export interface MessageTransport {
  /** What the worker logs: `sent` (it left for the person) or `written` (a file for a developer). */
  readonly outcome: 'sent' | 'written';
  /** Resolves once the message is accepted; throws to have it retried. */
  send(delivery: Delivery): Promise<void>;
  close?(): void;
}

export type MessageTransports = Record<MessageChannel, MessageTransport>;

/** Email over `mailer` (SMTP_URL), from `from`, with a Message-ID stable across retries. */
export function emailTransport(mailer: Mailer, from: string): MessageTransport {
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? 'carnet.local';
  return {
    outcome: 'sent',
    send: (delivery) => mailer.send({ from, to: delivery.to, subject: delivery.subject, text: delivery.text, messageId: `<account-message-${delivery.id}@${domain}>` }),
    close: () => mailer.close(),
  };
}

export interface MessageMatch {
  to?: string;
  template?: MessageTemplate;
  channel?: MessageChannel;
}

const matches = (delivery: Delivery, match: MessageMatch): boolean =>
  (match.to === undefined || delivery.to === match.to) &&
  (match.template === undefined || delivery.template === match.template) &&
  (match.channel === undefined || delivery.channel === match.channel);

/**
 * Keeps every message in memory (tests): `delivered` in order, and `next(match)`, which hands
 * each delivered message out once, waiting for the worker when none matches yet.
 */
export class LoopbackTransport implements MessageTransport {
  readonly outcome = 'sent';
  readonly delivered: Delivery[] = [];
  private readonly taken = new Set<Delivery>();
  private readonly waiters = new Set<() => void>();

  async send(delivery: Delivery): Promise<void> {
    this.delivered.push(delivery);
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The oldest delivered message matching `match` not handed out before; rejects after `timeoutMs`. */
  next(match: MessageMatch = {}, timeoutMs = 5_000): Promise<Delivery> {
    return new Promise((resolve, reject) => {
      const look = (): boolean => {
        const found = this.delivered.find((delivery) => !this.taken.has(delivery) && matches(delivery, match));
        if (!found) return false;
        this.taken.add(found);
        resolve(found);
        return true;
      };
      if (look()) return;
      const waiter = () => {
        if (!look()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no account message ${JSON.stringify(match)} delivered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Forgets what was delivered (between tests). */
  clear(): void {
    this.delivered.length = 0;
    this.taken.clear();
  }
}
