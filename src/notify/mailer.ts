/**
 * Sending one mail over SMTP with nodemailer (pooled connections to SMTP_URL).
 * Timeouts stay well under the outbox lease, so a hung server cannot make a
 * worker send after its claim has lapsed. Owns the transport only.
 */
import net from 'node:net';
import nodemailer from 'nodemailer';
import SMTPPool from 'nodemailer/lib/smtp-pool';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

export interface SmtpOptions {
  maxConnections?: number;
  /** Connection, greeting and socket timeouts (ms); default 10 000 / 10 000 / 20 000. */
  timeoutMs?: number;
}

type SocketCallback = (error: Error | null, socket?: { connection: net.Socket }) => void;

/**
 * Opens the TCP connection for nodemailer with Nagle's algorithm off: its
 * small command writes otherwise wait on the server's delayed ACKs (~150 ms
 * a mail on loopback instead of ~2 ms). TLS (smtps or STARTTLS) is still
 * negotiated by nodemailer over this socket.
 */
function noDelaySocket(timeoutMs: number) {
  return (options: { host?: string; port?: number; secure?: boolean }, callback: SocketCallback): void => {
    const port = Number(options.port) || (options.secure ? 465 : 587);
    const socket = net.connect({ host: options.host ?? 'localhost', port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('SMTP connection timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      callback(null, { connection: socket });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      callback(error);
    });
  };
}

/**
 * The pool is built directly: `createTransport({ url, … })` would keep only
 * what the URL says and silently drop the pool, the timeouts and the socket.
 */
export function smtpMailer(url: string, options: SmtpOptions = {}): Mailer {
  const timeout = options.timeoutMs ?? 20_000;
  const pool = new SMTPPool({
    url,
    pool: true,
    maxConnections: options.maxConnections ?? 4,
    connectionTimeout: Math.min(timeout, 10_000),
    greetingTimeout: Math.min(timeout, 10_000),
    socketTimeout: timeout,
    getSocket: noDelaySocket(Math.min(timeout, 10_000)),
  });
  const transport = nodemailer.createTransport(pool);
  return {
    send: async (mail) => {
      await transport.sendMail({
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
      });
    },
    close: () => transport.close(),
  };
}

/** What an SMTP failure may say in logs and in `last_error`: codes, never content or addresses. */
export function smtpErrorSummary(error: unknown): string {
  const e = error as { code?: unknown; responseCode?: unknown; command?: unknown };
  const parts = [e.code, e.responseCode, e.command].filter((part) => typeof part === 'string' || typeof part === 'number');
  return parts.length > 0 ? parts.join(' ').slice(0, 100) : 'send failed';
}
