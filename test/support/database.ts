/** A fresh database per test suite, cloned from the run's migrated template. */
import { randomBytes } from 'node:crypto';
import { createDatabase, dropDatabase, openDb, withDatabase, type Db } from '../../src/store/db';

export interface TestDatabase {
  url: string;
  db: Db;
  drop: () => Promise<void>;
}

export async function testDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.CARNET_TEST_SERVER_URL;
  const prefix = process.env.CARNET_TEST_DB_PREFIX;
  if (!serverUrl || !prefix) throw new Error('test database server not set up (jest globalSetup)');
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await createDatabase(serverUrl, name, `${prefix}_tpl`);
  const url = withDatabase(serverUrl, name);
  const db = openDb(url);
  return {
    url,
    db,
    drop: async () => {
      await db.destroy();
      await dropDatabase(serverUrl, name);
    },
  };
}
