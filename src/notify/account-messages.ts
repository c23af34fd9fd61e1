/**
 * The account-message outbox behind the AccountMessages port (CONTRACT §7, src/accounts/
 * messages.ts): `queue` is one statement on the caller's executor, so a message is sent only if
 * the caller's transaction commits; the worker (src/notify/account-worker.ts) sends it through
 * the transport of its channel. createAccountMessages builds the whole of it for the
 * composition root (src/server.ts) and for `npm run worker`: the outbox sealed under the
 * `account-messages` server secret, the transports (SMTP on SMTP_URL for email, an SMS
 * provider when one is given, the development outbox for whatever has none and for letters),
 * and the worker. Owns no text and no table of its own: templates and SQL live next door.
 */
import type { Logger } from 'pino';
import { Sealer } from '../kernel/sealed';
import type { Executor } from '../store/executor';
import { serverSecret } from '../store/secrets';
import type { AccountMessages, MessageTemplate, OutgoingMessage } from './account-message';
import { AccountOutbox } from './account-outbox';
import { AccountMessageWorker, type AccountWorkerOptions } from './account-worker';
import { DevOutbox } from './dev-outbox';
import { smtpMailer } from './mailer';
import type { NotifySettings } from './settings';
import { smsMessageTransport, type SmsTransport } from './sms';
import { emailTransport, type MessageTransport, type MessageTransports } from './transports';

export const ACCOUNT_MESSAGES_SECRET = 'account-messages';

const TEMPLATES: ReadonlySet<MessageTemplate> = new Set<MessageTemplate>([
  'enrolment-code', 'login-code', 'reset-code', 'contact-code', 'contact-changed', 'password-changed', 'opening-notice', 'space-closed',
]);

export class AccountMessageService implements AccountMessages {
  constructor(
    private readonly outbox: AccountOutbox,
    readonly worker: AccountMessageWorker,
    /** The transport of each channel (tests find their loopback here). */
    readonly transports: MessageTransports,
  ) {}

  async queue(sql: Executor, message: OutgoingMessage): Promise<void> {
    if (!TEMPLATES.has(message.template)) throw new Error(`unknown account message template ${message.template}`);
    if (message.to.trim() === '') throw new Error('an account message needs a recipient');
    await this.outbox.queue(sql, message);
  }

  /** Starts the worker, saying once which channels go to the development outbox (never what). */
  async start(logger: Logger): Promise<void> {
    const written = (Object.keys(this.transports) as (keyof MessageTransports)[]).filter((channel) => this.transports[channel] instanceof DevOutbox);
    const dir = written.length > 0 ? (this.transports[written[0]] as DevOutbox).dir : undefined;
    if (dir) logger.info({ channels: written, dir }, 'account messages: these channels have no transport and are written to the development outbox');
    await this.worker.start();
  }

  /** Stops the worker and closes the transports (SMTP connections). */
  async close(): Promise<void> {
    await this.worker.stop();
    for (const transport of new Set(Object.values(this.transports))) transport.close?.();
  }
}

export interface AccountMessagesOptions {
  db: Executor;
  logger: Logger;
  /** SMTP_URL and NOTIFY_FROM. */
  settings: Pick<NotifySettings, 'smtpUrl' | 'from'>;
  /** DEV_OUTBOX_DIR: where messages of a channel without a real transport are written. */
  devOutboxDir: string;
  /** A real SMS provider (src/notify/sms.ts); unset: SMS go to the development outbox. */
  sms?: SmsTransport;
  /** One transport for every channel, instead of the above (tests: a LoopbackTransport). */
  transport?: MessageTransport;
  /** The worker's database URL, to LISTEN for committed queues; and its timing. */
  worker?: Omit<AccountWorkerOptions, 'db' | 'outbox' | 'transports' | 'logger'>;
}

export function defaultTransports(options: Pick<AccountMessagesOptions, 'settings' | 'devOutboxDir' | 'sms'>): MessageTransports {
  const dev = new DevOutbox(options.devOutboxDir);
  return {
    email: options.settings.smtpUrl ? emailTransport(smtpMailer(options.settings.smtpUrl, { maxConnections: 2 }), options.settings.from) : dev,
    sms: options.sms ? smsMessageTransport(options.sms) : dev,
    letter: dev,
  };
}

/** The table, its params sealed under the database's `account-messages` secret (the same in every process). */
export async function openAccountOutbox(db: Executor, leaseMs?: number): Promise<AccountOutbox> {
  return new AccountOutbox(new Sealer(await serverSecret(db, ACCOUNT_MESSAGES_SECRET), 'account message params'), leaseMs);
}

export async function createAccountMessages(options: AccountMessagesOptions): Promise<AccountMessageService> {
  const outbox = await openAccountOutbox(options.db);
  const transports: MessageTransports = options.transport
    ? { email: options.transport, sms: options.transport, letter: options.transport }
    : defaultTransports(options);
  const worker = new AccountMessageWorker({ ...options.worker, db: options.db, outbox, transports, logger: options.logger });
  return new AccountMessageService(outbox, worker, transports);
}
