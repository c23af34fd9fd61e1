/**
 * Jest global setup: one PostgreSQL per run (embedded, or the server named by
 * DATABASE_URL), and a migrated template database every suite clones.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
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
    // One throw-away cluster per run (initdb + start take well under a second),
    // so parallel runs never share a data directory or a port.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-test-pg-'));
    // In jest's process group: a run stopped with Ctrl-C takes its throw-away cluster with it.
    const embedded = await startEmbedded(dataDir, await freePort(), { ownSession: false });
    (globalThis as Record<string, unknown>).__carnetEmbedded = embedded;
    (globalThis as Record<string, unknown>).__carnetEmbeddedDir = dataDir;
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
