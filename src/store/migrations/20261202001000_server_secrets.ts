/**
 * Secrets every server process of one database shares (several processes, several machines):
 * made once, here, from node:crypto's random bytes. `search-cursor` seals the search paging
 * cursors (search/paging.ts), so a link made by one process opens in every other.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE server_secrets (name text COLLATE "C" PRIMARY KEY, secret bytea NOT NULL, created timestamptz NOT NULL DEFAULT now())`);
  await knex.raw('INSERT INTO server_secrets (name, secret) VALUES (?, ?)', ['search-cursor', randomBytes(32)]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE server_secrets');
}
