/**
 * Reading the account messages (§7) a test server delivered: every server of
 * startTestServer (and its siblings) sends them through one in-memory loopback
 * (`server.messages`), so end-to-end tests of the accounts read the codes they
 * receive. `nextMessage` waits for the worker (woken as soon as the queueing
 * transaction commits) and hands each message out once.
 */
import type { MessageChannel, MessageTemplate } from '../../src/accounts/messages';
import type { TestServer } from './server';

export interface ReceivedMessage {
  channel: MessageChannel;
  to: string;
  template: MessageTemplate;
  lang: 'fr' | 'en';
  subject: string;
  /** The rendered text, as the person reads it. */
  text: string;
  /** What was queued: `code` (and `expires`) for the code templates. */
  params: Record<string, string>;
}

/** The next message to `to` (and of `template`) not handed out before; rejects after `timeoutMs`. */
export async function nextMessage(
  server: Pick<TestServer, 'messages'>,
  match: { to?: string; template?: MessageTemplate; channel?: MessageChannel } = {},
  timeoutMs = 5_000,
): Promise<ReceivedMessage> {
  const { channel, to, template, lang, subject, text, params } = await server.messages.next(match, timeoutMs);
  return { channel, to, template, lang, subject, text, params };
}

/** The code of the next such message (its `params.code`). */
export async function nextCode(server: Pick<TestServer, 'messages'>, match: { to?: string; template?: MessageTemplate; channel?: MessageChannel }, timeoutMs = 5_000): Promise<string> {
  const message = await nextMessage(server, match, timeoutMs);
  if (!message.params.code) throw new Error(`the ${message.template} message to ${message.to} carries no code`);
  return message.params.code;
}

/** Every message delivered so far, in order (handed out or not). */
export function deliveredMessages(server: Pick<TestServer, 'messages'>): ReceivedMessage[] {
  return server.messages.delivered.map(({ channel, to, template, lang, subject, text, params }) => ({ channel, to, template, lang, subject, text, params }));
}
