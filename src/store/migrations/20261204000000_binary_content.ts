/**
 * Binary content outside the resource rows (CONTRACT §9, raw Binaries and
 * ITI-68; src/store/binary-contents.ts):
 * - binary_contents: one row per content — size, SHA-1 (base64, FHIR's
 *   Attachment.hash), SHA-256 (hex, the raw view's ETag), the chunk size,
 *   when it was staged, and `binary_rid`, the Binary it belongs to, set (and
 *   `committed` true) in the transaction that writes that Binary. A row left
 *   uncommitted is an upload whose write never happened: swept after an hour.
 * - binary_content: the bytes, `chunk_size` bytes per row (the last shorter),
 *   numbered from 0; stored EXTERNAL (documents are mostly compressed
 *   already: no second compression attempt).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE binary_contents (
      content_id  uuid        PRIMARY KEY,
      size        bigint      NOT NULL DEFAULT 0,
      chunk_size  integer     NOT NULL,
      sha1        text,
      sha256      text,
      created_at  timestamptz NOT NULL DEFAULT now(),
      committed   boolean     NOT NULL DEFAULT false,
      binary_rid  bigint
    );
    CREATE INDEX binary_contents_binary ON binary_contents (binary_rid);
    CREATE INDEX binary_contents_staged ON binary_contents (created_at) WHERE NOT committed;

    CREATE TABLE binary_content (
      content_id uuid    NOT NULL REFERENCES binary_contents (content_id) ON DELETE CASCADE,
      seq        integer NOT NULL,
      bytes      bytea   NOT NULL,
      PRIMARY KEY (content_id, seq)
    );
    ALTER TABLE binary_content ALTER COLUMN bytes SET STORAGE EXTERNAL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE binary_content; DROP TABLE binary_contents;');
}
