/**
 * The development outbox: where an account message goes when its channel has no real
 * transport (no SMTP_URL for email, no SMS provider, and always for letters): one small text
 * file per message in DEV_OUTBOX_DIR (default $DATA_DIR/outbox), mode 0600 in a 0700 folder,
 * holding the recipient, the template and the rendered text with its code. That is how a
 * developer reads the codes they receive. Names begin with the UTC instant, so both `ls` and
 * `ls -t` put the newest last/first: `20261202T101530123Z-42-email-login-code.txt`.
 * A file is never shared by two messages (the name holds the row id); nothing written is logged.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Delivery, MessageTransport } from './transports';

export function devOutboxName(delivery: Delivery, at: Date): string {
  const instant = at.toISOString().replace(/[-:.]/g, '');
  return `${instant}-${delivery.id}-${delivery.channel}-${delivery.template}.txt`;
}

export function devOutboxText(delivery: Delivery): string {
  return [
    `To: ${delivery.to}`,
    `Channel: ${delivery.channel}`,
    `Template: ${delivery.template}`,
    `Language: ${delivery.lang}`,
    `Subject: ${delivery.subject}`,
    '',
    delivery.text.endsWith('\n') ? delivery.text : `${delivery.text}\n`,
  ].join('\n');
}

export class DevOutbox implements MessageTransport {
  readonly outcome = 'written';

  constructor(readonly dir: string, private readonly now: () => Date = () => new Date()) {}

  async send(delivery: Delivery): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, devOutboxName(delivery, this.now()));
    // 'w' rather than 'wx': a retry of the same message (the row's id) within the same millisecond rewrites its own file
    await fs.writeFile(file, devOutboxText(delivery), { mode: 0o600, flag: 'w' });
    await fs.chmod(file, 0o600); // the umask never widens it; an existing file keeps no wider mode
  }
}
