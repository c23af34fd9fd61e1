/**
 * Database connection: one knex instance over `pg`, migrations from
 * src/store/migrations. Owns pool settings; never builds FHIR logic.
 */
import path from 'node:path';
import knex, { type Knex } from 'knex';

export type Db = Knex;

export const migrationsDirectory = path.join(__dirname, 'migrations');

export function knexConfig(connectionString: string, poolMax = 20): Knex.Config {
  return {
    client: 'pg',
    connection: { connectionString, application_name: 'carnet' },
    pool: { min: 0, max: poolMax },
    migrations: { directory: migrationsDirectory, loadExtensions: ['.ts', '.js'], tableName: 'knex_migrations' },
  };
}

export function openDb(connectionString: string, poolMax?: number): Db {
  return knex(knexConfig(connectionString, poolMax));
}

export async function migrate(db: Db): Promise<void> {
  await db.migrate.latest();
}

/** Creates a database on the server named by `url` (connecting to its maintenance database). */
export async function createDatabase(url: string, name: string, template?: string): Promise<void> {
  const admin = openDb(withDatabase(url, 'postgres'), 1);
  try {
    await admin.raw(`CREATE DATABASE ?? ${template ? 'TEMPLATE ??' : ''}`, template ? [name, template] : [name]);
  } finally {
    await admin.destroy();
  }
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  const admin = openDb(withDatabase(url, 'postgres'), 1);
  try {
    await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
  } finally {
    await admin.destroy();
  }
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
