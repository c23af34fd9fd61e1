import fs from 'node:fs';
/** Jest global teardown: drops every database this run created, stops the embedded server. */
import { dropDatabase, openDb, withDatabase } from '../../src/store/db';
import type { EmbeddedDatabase } from '../../src/store/embedded';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__carnetTestServer as { serverUrl: string; prefix: string } | undefined;
  if (state) {
    const admin = openDb(withDatabase(state.serverUrl, 'postgres'), 1);
    const result = await admin.raw<{ rows: { datname: string }[] }>('SELECT datname FROM pg_database WHERE datname LIKE ?', [`${state.prefix}%`]);
    await admin.destroy();
    for (const row of result.rows) await dropDatabase(state.serverUrl, row.datname);
  }
  const embedded = (globalThis as Record<string, unknown>).__carnetEmbedded as EmbeddedDatabase | undefined;
  if (embedded) await embedded.stop();
  const dir = (globalThis as Record<string, unknown>).__carnetEmbeddedDir as string | undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
