/**
 * Cheaper writes, same behaviour:
 * - The key columns of `resources`, `resource_versions` and the search index
 *   tables (types, ids, parameter names, codes, systems, references) compare
 *   in byte order (`COLLATE "C"`). Every index insert and lookup compares
 *   them; under a libc collation (C.UTF-8, en_US…) each comparison went
 *   through strcoll, under "C" it is a memcmp. They are identifiers, never
 *   shown sorted to people; C.UTF-8 already orders by code point, so on such
 *   a database no order changes. Joins with columns left in the database
 *   collation take "C" (an implicit collation wins over the default one).
 * - Resource bodies are compressed with lz4 where the server has it (TOAST
 *   compression ran pglz twice per write, on the current row and on its
 *   version); rows already stored keep their compression until rewritten.
 */
import type { Knex } from 'knex';

const KEY_COLUMNS: Record<string, string[]> = {
  resources: ['resource_type', 'id', 'patient_id', 'created_by'],
  resource_versions: ['resource_type', 'id', 'patient_id', 'created_by'],
  search_string: ['resource_type', 'param', 'patient_id'],
  search_token: ['resource_type', 'param', 'patient_id', 'system', 'code'],
  search_reference: ['resource_type', 'param', 'patient_id', 'target_type', 'target_id', 'url', 'ident_system', 'ident_value'],
  search_date: ['resource_type', 'param', 'patient_id'],
  search_number: ['resource_type', 'param', 'patient_id'],
  search_quantity: ['resource_type', 'param', 'patient_id', 'system', 'code', 'unit'],
  search_uri: ['resource_type', 'param', 'patient_id'],
};

const alterAll = (collation: string) =>
  Object.entries(KEY_COLUMNS)
    .map(([table, columns]) => `ALTER TABLE ${table} ${columns.map((column) => `ALTER COLUMN ${column} TYPE text COLLATE ${collation}`).join(', ')};`)
    .join('\n');

export async function up(knex: Knex): Promise<void> {
  await knex.raw(alterAll('"C"'));
  await knex.raw(`
    DO $$
    BEGIN
      ALTER TABLE resources ALTER COLUMN content SET COMPRESSION lz4;
      ALTER TABLE resource_versions ALTER COLUMN content SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported THEN
      RAISE NOTICE 'lz4 is not available on this server: resource bodies keep pglz';
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(alterAll('"default"'));
  await knex.raw(`
    ALTER TABLE resources ALTER COLUMN content SET COMPRESSION DEFAULT;
    ALTER TABLE resource_versions ALTER COLUMN content SET COMPRESSION DEFAULT;
  `);
}
