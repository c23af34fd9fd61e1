/**
 * `npm run migrate`: runs the knex migrations alone, on DATABASE_URL or on the
 * embedded PostgreSQL in DATA_DIR (started for the purpose and stopped after).
 */
import { loadConfig } from '../src/config';
import { migrate, openDb } from '../src/store/db';
import { startEmbedded } from '../src/store/embedded';

async function run(): Promise<void> {
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await startEmbedded(config.dataDir, config.embeddedPort);
  try {
    const url = config.databaseUrl ?? (await embedded!.ensureDatabase('carnet'));
    const db = openDb(url, 1);
    await migrate(db);
    const [, applied] = (await db.migrate.list()) as [unknown, unknown[]];
    console.log(`migrations applied; ${applied.length} pending`);
    await db.destroy();
  } finally {
    await embedded?.stop();
  }
}

run().catch((error) => {
  console.error(error);
  process.exit(1);
});
