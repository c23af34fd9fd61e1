/**
 * The notification settings (CONTRACT §6) and their validation. config.ts
 * calls `parseNotifySettings(env)` with the environment it was given; this
 * module never reads process.env itself.
 */

export interface NotifySettings {
  /** smtp://user:pass@host:port or smtps://…; unset: mails stay in the outbox. */
  smtpUrl?: string;
  /** The From address of every notification. */
  from: string;
  /** Non-emergency events of one patient within this window go out as one digest (0: one mail per action). */
  digestMinutes: number;
  /** Run the worker inside the server process (default on; off when `npm run worker` runs it alone). */
  worker: boolean;
}

export const DEFAULT_FROM = 'Carnet <ne-pas-repondre@carnet.example.org>';

function flag(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|on|yes)$/i.test(value)) return true;
  if (/^(0|false|off|no)$/i.test(value)) return false;
  throw new Error(`invalid ${name}: ${value} (on or off)`);
}

export function parseNotifySettings(env: NodeJS.ProcessEnv): NotifySettings {
  const digest = Number(env.NOTIFY_DIGEST_MINUTES ?? 0);
  if (!Number.isFinite(digest) || digest < 0) throw new Error(`invalid NOTIFY_DIGEST_MINUTES: ${env.NOTIFY_DIGEST_MINUTES}`);
  const smtpUrl = env.SMTP_URL || undefined;
  if (smtpUrl && !/^smtps?:\/\//i.test(smtpUrl)) throw new Error('invalid SMTP_URL: smtp:// or smtps:// expected');
  return {
    smtpUrl,
    from: env.NOTIFY_FROM || DEFAULT_FROM,
    digestMinutes: digest,
    worker: flag('NOTIFY_WORKER', env.NOTIFY_WORKER, true),
  };
}
