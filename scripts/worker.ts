/**
 * `npm run worker`: the notification worker as its own process, on
 * DATABASE_URL (the embedded database belongs to the server process, whose
 * in-process worker is the default; run this one with NOTIFY_WORKER=off on the
 * server). Sends over SMTP_URL from NOTIFY_FROM; stops cleanly on SIGTERM/SIGINT.
 * Mails about documents hidden from the patient are held as in the server (the
 * same access policy answers which: src/audit/hidden-events.ts). It also sends
 * the account messages (§7 codes and notices: src/notify/account-messages.ts),
 * over SMTP_URL or into DEV_OUTBOX_DIR, woken by the commits that queue them.
 * Options: --lease-seconds <n> (60), --poll-ms <n> (1000), --retry-base-ms <n> (5000),
 * --concurrency <n> (mails in flight, 4).
 */
import path from 'node:path';
import { loadConfig } from '../src/config';
import { CarnetAccessPolicy } from '../src/access/policy';
import { AuditAccessHistory } from '../src/audit/access-history';
import { NotificationHolds } from '../src/audit/hidden-events';
import { PatientCompartment } from '../src/kernel/compartment';
import { createRegistry } from '../src/search';
import { createLogger } from '../src/http/logging';
import { migrate, openDb } from '../src/store/db';
import { PoolExecutor } from '../src/store/executor';
import { parseNotifySettings } from '../src/notify/settings';
import { NotificationWorker } from '../src/notify/worker';
import { createAccountMessages } from '../src/notify/account-messages';

const args = process.argv.slice(2);
const option = (name: string): number | undefined => {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`invalid --${name}`);
  return value;
};

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (!config.databaseUrl) throw new Error('npm run worker needs DATABASE_URL (with the embedded database, the server runs the worker itself)');
  const db = openDb(config.databaseUrl, 4);
  await migrate(db);
  const sql = new PoolExecutor(db);
  const compartment = new PatientCompartment(createRegistry(path.resolve(__dirname, '..', 'profiles')));
  const policy = new CarnetAccessPolicy({ compartment, accessHistory: (on) => new AuditAccessHistory(on) });
  const lease = option('lease-seconds');
  const retryBaseMs = option('retry-base-ms');
  const worker = new NotificationWorker({
    db: sql,
    holds: new NotificationHolds(sql, (caller, type) => policy.readable(caller, type)),
    settings: parseNotifySettings(process.env),
    logger,
    leaseMs: lease === undefined ? undefined : lease * 1000,
    pollMs: option('poll-ms'),
    concurrency: option('concurrency'),
    retry: retryBaseMs === undefined ? undefined : { retryBaseMs },
  });
  const accountMessages = await createAccountMessages({ db: sql, logger, settings: config.notify, devOutboxDir: config.devOutboxDir, worker: { databaseUrl: config.databaseUrl } });
  worker.start();
  await accountMessages.start(logger);
  logger.info('notification worker started');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'notification worker stopping');
    await worker.stop();
    await accountMessages.close();
    await db.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
