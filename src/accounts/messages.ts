/**
 * The messages accounts send a person (§7): provisional codes by letter or email, one-time
 * codes by email or SMS, notices. The port only: accounts queue a message inside their own
 * transaction; the account-message outbox (src/notify/) renders, sends and settles it. The
 * params may hold a code in clear: they are sealed in the outbox and wiped once sent, and
 * never logged.
 */
import type { Executor } from '../store/executor';

export type MessageChannel = 'letter' | 'email' | 'sms';

export type MessageTemplate =
  | 'enrolment-code' // { code, expires } — the provisional code of a new space (letter or email)
  | 'login-code' // { code } — the second factor of a login
  | 'reset-code' // { code } — confirms a password reset
  | 'contact-code' // { code } — confirms a new email or phone (sent to the new contact)
  | 'contact-changed' // {} — the registered contact changed (sent to the old and the new)
  | 'password-changed' // {} — the password changed
  | 'opening-notice' // {} — the space opened by itself and exists (48 h after the automatic opening)
  | 'space-closed'; // {} — the space was closed

export interface OutgoingMessage {
  channel: MessageChannel;
  /** An email address, a phone number (E.164), or for a letter the postal addressee (`Patient/X`). */
  to: string;
  template: MessageTemplate;
  params: Record<string, string>;
  /** The person's language; French by default. */
  lang?: 'fr' | 'en';
}

export interface AccountMessages {
  /** Queues `message` in the transaction of `sql` (it is sent only if that transaction commits). */
  queue(sql: Executor, message: OutgoingMessage): Promise<void>;
}
