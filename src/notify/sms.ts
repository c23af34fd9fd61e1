/**
 * SMS for account messages: the SmsTransport a provider implements, the MessageTransport that
 * sends through one, and a loopback (no network at all) that keeps what it was given.
 *
 * Adding a real provider is one file, say src/notify/sms-<provider>.ts, exporting a function
 * that returns an SmsTransport: `send` posts `{ to, text }` to the provider and resolves once
 * it accepted the message (throwing to have the worker retry it, with an error whose `code`
 * says why and nothing of the text), `close` releases its connections. The composition root
 * (src/server.ts) passes it as `sms` to createAccountMessages; without one, SMS go to the
 * development outbox. `reference` is stable across retries of one message: a provider that
 * deduplicates takes it as its idempotency key. Never logs a number or a text.
 */
import type { MessageTransport } from './transports';

export interface OutgoingSms {
  /** E.164, e.g. +33612345678. */
  to: string;
  text: string;
  /** The same for every attempt of one message. */
  reference: string;
}

export interface SmsTransport {
  send(sms: OutgoingSms): Promise<void>;
  close?(): void;
}

export function smsMessageTransport(sms: SmsTransport): MessageTransport {
  return {
    outcome: 'sent',
    send: (delivery) => sms.send({ to: delivery.to, text: delivery.text, reference: `account-message-${delivery.id}` }),
    close: () => sms.close?.(),
  };
}

/** An SmsTransport that sends nothing anywhere and keeps every SMS it was given (in order). */
export class LoopbackSms implements SmsTransport {
  readonly sent: OutgoingSms[] = [];

  async send(sms: OutgoingSms): Promise<void> {
    this.sent.push(sms);
  }
}
