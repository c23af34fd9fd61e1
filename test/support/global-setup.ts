/**
 * Jest global setup: one PostgreSQL per run (embedded, or the server named by
 * DATABASE_URL), and a migrated template database every suite clones.
 */
import path from 'node:path';
import { startEmbedded } from '../../src/store/embedded';
import { createDatabase, dropDatabase, migrate, openDb, withDatabase } from '../../src/store/db';

export default async function globalSetup(): Promise<void> {
  let serverUrl: string;
  let prefix: string;
  if (process.env.DATABASE_URL) {
    serverUrl = process.env.DATABASE_URL;
    prefix = new URL(serverUrl).pathname.replace(/^\//, '') || 'carnet_test';
  } else {
    const port = Number(process.env.TEST_PG_PORT ?? 54331);
    const embedded = await startEmbedded(path.resolve(process.env.TEST_DATA_DIR ?? './data/test'), port);
    (globalThis as Record<string, unknown>).__carnetEmbedded = embedded;
    serverUrl = embedded.url('postgres');
    prefix = 'carnet_test';
  }
  prefix = `${prefix}_${process.pid}`;
  const template = `${prefix}_tpl`;
  await dropDatabase(serverUrl, template);
  await createDatabase(serverUrl, template);
  const db = openDb(withDatabase(serverUrl, template), 1);
  try {
    await migrate(db);
  } finally {
    await db.destroy();
  }
  process.env.CARNET_TEST_SERVER_URL = serverUrl;
  process.env.CARNET_TEST_DB_PREFIX = prefix;
  (globalThis as Record<string, unknown>).__carnetTestServer = { serverUrl, prefix };
}
