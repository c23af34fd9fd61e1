/**
 * The INS-NIR is unique (CONTRACT §3 "Patient identity (INS)"): one row per
 * NIR (`urn:oid:1.2.250.1.213.1.4.8` value) held by a current Patient, kept
 * by the identity indexer (store/identities.ts) in the write's transaction.
 * The primary key is what refuses a second Patient with the same NIR, under
 * concurrency too; a deleted Patient holds none (it releases its NIR).
 * Patients stored before this migration are claimed in rid order: the first
 * one holding a NIR keeps it, a later duplicate is left unclaimed (its next
 * write is refused until the NIR is freed).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE patient_identities (
      nir text COLLATE "C" PRIMARY KEY,
      patient_id text COLLATE "C" NOT NULL
    );
    CREATE INDEX patient_identities_patient ON patient_identities (patient_id);
    INSERT INTO patient_identities (nir, patient_id)
      SELECT DISTINCT ON (i->>'value') i->>'value', r.id
        FROM resources r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.content->'identifier') = 'array' THEN r.content->'identifier' ELSE '[]'::jsonb END) i
       WHERE r.resource_type = 'Patient' AND NOT r.deleted
         AND i->>'system' = 'urn:oid:1.2.250.1.213.1.4.8' AND COALESCE(i->>'value', '') <> ''
       ORDER BY i->>'value', r.rid;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS patient_identities;');
}
