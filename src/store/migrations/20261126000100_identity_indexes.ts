/**
 * Indexes for caller resolution (src/identity/lookup.ts): a practitioner's
 * roles are found by `PractitionerRole.practitioner.reference` on every
 * request of a practitioner, so that lookup must not scan the table.
 * RelatedPerson is read by id and needs no index beyond `resources_type_id`.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX resources_role_practitioner
      ON resources ((content->'practitioner'->>'reference'))
      WHERE resource_type = 'PractitionerRole' AND NOT deleted;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS resources_role_practitioner;');
}
