/**
 * Extended statistics on the search index tables: how values spread within
 * one (resource type, parameter). Without them PostgreSQL multiplies
 * independent selectivities (`resource_type`, `param`, `code`…), misjudges
 * how many rows a filter yields and starts semi-joins from the wrong side.
 * A separate migration because 20261126000200_search_indexes may already be
 * applied where these did not exist yet.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE STATISTICS IF NOT EXISTS search_string_stats (dependencies) ON resource_type, param FROM search_string;
    CREATE STATISTICS IF NOT EXISTS search_token_stats (mcv, dependencies) ON resource_type, param, code FROM search_token;
    CREATE STATISTICS IF NOT EXISTS search_reference_stats (mcv, dependencies) ON resource_type, param, target_type FROM search_reference;
    CREATE STATISTICS IF NOT EXISTS search_date_stats (dependencies) ON resource_type, param FROM search_date;
    CREATE STATISTICS IF NOT EXISTS search_uri_stats (dependencies) ON resource_type, param FROM search_uri;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP STATISTICS IF EXISTS search_string_stats, search_token_stats, search_reference_stats, search_date_stats, search_uri_stats;
  `);
}
