/**
 * Core storage: the current version of every resource and every version ever
 * written (history). Every patient-owned row carries `patient_id` so the tables
 * can be distributed by patient (Citus) without a redesign.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE resources (
      rid            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      resource_type  text        NOT NULL,
      id             text        NOT NULL,
      version_id     integer     NOT NULL,
      last_updated   timestamptz NOT NULL,
      deleted        boolean     NOT NULL DEFAULT false,
      patient_id     text,
      created_by     text        NOT NULL,
      content        jsonb,
      CONSTRAINT resources_type_id UNIQUE (resource_type, id)
    );
    CREATE INDEX resources_patient ON resources (patient_id, resource_type) WHERE patient_id IS NOT NULL;
    CREATE INDEX resources_type_updated ON resources (resource_type, last_updated, rid);
    CREATE INDEX resources_created_by ON resources (created_by, resource_type);

    CREATE TABLE resource_versions (
      seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      rid            bigint      NOT NULL,
      resource_type  text        NOT NULL,
      id             text        NOT NULL,
      version_id     integer     NOT NULL,
      last_updated   timestamptz NOT NULL,
      deleted        boolean     NOT NULL DEFAULT false,
      patient_id     text,
      created_by     text        NOT NULL,
      method         text        NOT NULL,
      content        jsonb,
      CONSTRAINT resource_versions_key UNIQUE (resource_type, id, version_id)
    );
    CREATE INDEX resource_versions_type_seq ON resource_versions (resource_type, seq);
    CREATE INDEX resource_versions_rid ON resource_versions (rid, seq);
    CREATE INDEX resource_versions_updated ON resource_versions (last_updated);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE resource_versions; DROP TABLE resources;');
}
