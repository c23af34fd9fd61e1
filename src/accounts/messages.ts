/**
 * The messages accounts send a person (§7): provisional codes by letter or email, one-time
 * codes by email or SMS, notices. The port only: accounts queue a message inside their own
 * transaction; the account-message outbox (src/notify/account-messages.ts) renders, sends and
 * settles it. The params may hold a code in clear: they are sealed in the outbox and wiped once
 * sent, and never logged.
 *
 * The types are defined in src/notify/account-message.ts (notify sits below accounts and must
 * render every template) and re-exported here unchanged: accounts import them from this file.
 */
export type { AccountMessages, MessageChannel, MessageLanguage, MessageTemplate, OutgoingMessage } from '../notify/account-message';
