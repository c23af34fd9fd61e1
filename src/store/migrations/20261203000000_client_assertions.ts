/**
 * The client assertions already used at the token endpoint (CONTRACT §8, SMART backend
 * services): one row per (client, jti) until the assertion expires, so an assertion is
 * accepted once across every server process sharing the database (WORKERS > 1).
 * Rows past `expires_at` mean nothing and are purged by the token endpoint.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE client_assertions (
      client_id  text COLLATE "C" NOT NULL,
      jti        text COLLATE "C" NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (client_id, jti)
    );
    CREATE INDEX client_assertions_expiry ON client_assertions (expires_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE client_assertions');
}
