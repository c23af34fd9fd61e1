/**
 * The vocabulary of the messages accounts send a person (CONTRACT §7): channels, templates and
 * the AccountMessages port. It lives in src/notify, below src/accounts, because the outbox that
 * renders every template must know them all and may not import accounts; src/accounts/messages.ts
 * re-exports it unchanged. Types only: no behaviour, no I/O.
 */
import type { Executor } from '../store/executor';

export type MessageChannel = 'letter' | 'email' | 'sms';

export const MESSAGE_CHANNELS: readonly MessageChannel[] = ['letter', 'email', 'sms'];

export type MessageTemplate =
  | 'enrolment-code' // { code, expires } — the provisional code of a new space (letter or email)
  | 'login-code' // { code, expires? } — the second factor of a login
  | 'reset-code' // { code, expires? } — confirms a password reset
  | 'contact-code' // { code, expires? } — confirms a new email or phone (sent to the new contact)
  | 'contact-changed' // {} — the registered contact changed (sent to the old and the new)
  | 'password-changed' // {} — the password changed
  | 'opening-notice' // {} — the space opened by itself and exists (48 h after the automatic opening)
  | 'space-closed'; // {} — the space was closed

export type MessageLanguage = 'fr' | 'en';

export interface OutgoingMessage {
  channel: MessageChannel;
  /** An email address, a phone number (E.164), or for a letter the postal addressee (`Patient/X`). */
  to: string;
  template: MessageTemplate;
  /** `code` and `expires` (an ISO instant) where the template has them; sealed in the outbox, wiped once sent. */
  params: Record<string, string>;
  /** The person's language; French by default. */
  lang?: MessageLanguage;
}

export interface AccountMessages {
  /** Queues `message` in the transaction of `sql` (it is sent only if that transaction commits). */
  queue(sql: Executor, message: OutgoingMessage): Promise<void>;
}
