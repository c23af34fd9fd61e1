/**
 * The keys that the access and audit tables share with `resources` take its
 * collation, "C". They were created with the database's default collation,
 * and a comparison of two columns of different collations has none: the
 * planner then cannot use the btree of either side. Every access predicate
 * joins `patient_access` (and a Binary's `attachment_links`) on
 * `resources.patient_id` (or `resource_type`/`id`), so each read scanned the
 * whole table — a few microseconds with 2,000 patients, all the time with
 * millions. Only the collation changes: no row is rewritten, the indexes on
 * these columns are rebuilt. Changing a column's type drops its statistics,
 * so the tables are analysed again at once (until then the planner would
 * guess, and may pass the keys by).
 */
import type { Knex } from 'knex';

/** Table → the key columns compared with `resources`' own. */
const SHARED_KEYS: Readonly<Record<string, readonly string[]>> = {
  access_facts: ['resource_type', 'id', 'patient_id', 'context_type', 'context_id'],
  attachment_links: ['target_type', 'target_id'],
  patient_access: ['patient_id'],
  consent_rules: ['patient_id', 'actor_ref', 'data_id'],
  audit_heads: ['patient_id'],
  audit_events: ['id', 'patient_id'],
  notification_outbox: ['patient_id'],
};

function collate(collation: string): string {
  const tables = Object.entries(SHARED_KEYS);
  return [
    ...tables.map(([table, columns]) => `ALTER TABLE ${table} ${columns.map((column) => `ALTER COLUMN ${column} TYPE text COLLATE ${collation}`).join(', ')};`),
    `ANALYZE ${tables.map(([table]) => table).join(', ')};`,
  ].join('\n');
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(collate('"C"'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(collate('"default"'));
}
