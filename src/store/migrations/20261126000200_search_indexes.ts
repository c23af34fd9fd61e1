/**
 * Search index tables (HAPI/Blaze style): one narrow typed table per search
 * parameter type, keyed by the resource row id `rid`, filled by
 * src/search/indexer.ts in the write's transaction. `patient_id` is carried on
 * every row so the tables can be co-located with `resources` by patient
 * (Citus). Text columns searched by prefix (normalised strings, token text,
 * uri) are `COLLATE "C"` so prefix ranges and keyset comparisons use byte
 * order whatever the database collation; columns only compared for equality
 * keep the database collation (joins with `resources` need no COLLATE).
 * See src/search/README.md for why each index exists.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE search_string (
      rid              bigint NOT NULL,
      resource_type    text   NOT NULL,
      param            text   NOT NULL,
      patient_id       text,
      value_normalized text   COLLATE "C" NOT NULL,
      value_exact      text   NOT NULL
    );
    CREATE INDEX search_string_rid ON search_string (rid, param);
    CREATE INDEX search_string_value ON search_string (resource_type, param, value_normalized) INCLUDE (rid);

    CREATE TABLE search_token (
      rid           bigint NOT NULL,
      resource_type text   NOT NULL,
      param         text   NOT NULL,
      patient_id    text,
      system        text,
      code          text,
      text          text   COLLATE "C"
    );
    CREATE INDEX search_token_rid ON search_token (rid, param);
    CREATE INDEX search_token_code ON search_token (resource_type, param, code, system) INCLUDE (rid);

    CREATE TABLE search_reference (
      rid           bigint NOT NULL,
      resource_type text   NOT NULL,
      param         text   NOT NULL,
      patient_id    text,
      target_type   text,
      target_id     text,
      url           text,
      ident_system  text,
      ident_value   text
    );
    CREATE INDEX search_reference_rid ON search_reference (rid, param);
    CREATE INDEX search_reference_target ON search_reference (resource_type, param, target_id, target_type) INCLUDE (rid) WHERE url IS NULL;
    CREATE INDEX search_reference_url ON search_reference (resource_type, param, url) INCLUDE (rid) WHERE url IS NOT NULL;
    CREATE INDEX search_reference_identifier ON search_reference (resource_type, param, ident_value) INCLUDE (rid) WHERE ident_value IS NOT NULL;

    CREATE TABLE search_date (
      rid           bigint      NOT NULL,
      resource_type text        NOT NULL,
      param         text        NOT NULL,
      patient_id    text,
      lo            timestamptz NOT NULL,
      hi            timestamptz NOT NULL
    );
    CREATE INDEX search_date_rid ON search_date (rid, param);
    CREATE INDEX search_date_lo ON search_date (resource_type, param, lo) INCLUDE (hi, rid);
    CREATE INDEX search_date_hi ON search_date (resource_type, param, hi) INCLUDE (lo, rid);

    CREATE TABLE search_number (
      rid           bigint  NOT NULL,
      resource_type text    NOT NULL,
      param         text    NOT NULL,
      patient_id    text,
      lo            numeric NOT NULL,
      hi            numeric NOT NULL
    );
    CREATE INDEX search_number_rid ON search_number (rid, param);
    CREATE INDEX search_number_lo ON search_number (resource_type, param, lo) INCLUDE (hi, rid);

    CREATE TABLE search_quantity (
      rid           bigint  NOT NULL,
      resource_type text    NOT NULL,
      param         text    NOT NULL,
      patient_id    text,
      system        text,
      code          text,
      unit          text,
      lo            numeric NOT NULL,
      hi            numeric NOT NULL
    );
    CREATE INDEX search_quantity_rid ON search_quantity (rid, param);
    CREATE INDEX search_quantity_lo ON search_quantity (resource_type, param, lo) INCLUDE (hi, rid);

    CREATE TABLE search_uri (
      rid           bigint NOT NULL,
      resource_type text   NOT NULL,
      param         text   NOT NULL,
      patient_id    text,
      uri           text   COLLATE "C" NOT NULL
    );
    CREATE INDEX search_uri_rid ON search_uri (rid, param);
    CREATE INDEX search_uri_value ON search_uri (resource_type, param, uri) INCLUDE (rid);

    -- unfiltered searches page through one type in rid order (the default sort)
    CREATE INDEX search_resources_type_rid ON resources (resource_type, rid) WHERE NOT deleted;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS search_resources_type_rid;
    DROP TABLE search_uri; DROP TABLE search_quantity; DROP TABLE search_number; DROP TABLE search_date;
    DROP TABLE search_reference; DROP TABLE search_token; DROP TABLE search_string;
  `);
}
