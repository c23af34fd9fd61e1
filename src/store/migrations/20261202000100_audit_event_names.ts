/**
 * The documents an AuditEvent names (CONTRACT §6: what a reader is served
 * leaves out every event about a document that reader may not see, and every
 * query naming one). `audit_events.names` is a stored generated column, so
 * the events already stored get it when the table is rewritten here, every
 * later insert computes it, and neither the rows' content nor their hash
 * chain changes (nothing UPDATEs the append-only table):
 *
 * `audit_document_names(content)` = the distinct ids of
 * - every `entity.what.reference` to a DocumentReference or a Binary (relative
 *   or absolute, versioned or not), and
 * - every term of every recorded query (`entity.query`, base64 of
 *   `path?parameters`): the decoded text cut at each character that cannot be
 *   in an id (anything but `A-Z a-z 0-9 - .`), at each URL escape (`%2F`…)
 *   and at each non-ASCII byte. So `_id=D`, `related=DocumentReference/D`,
 *   `…/DocumentReference/D/_history/2`, `D` in a comma-separated list or in
 *   any parameter's value all name D.
 * Which of those name a document the reader may not see is decided when the
 * history is read, with the reader's access predicate (src/audit/hidden-events.ts).
 */
import type { Knex } from 'knex';

// knex.raw reads every question mark as a binding: the SQL below has none.

/** The function as this migration made it (migration 20261205000000 drops it; its down restores it). */
export const DOCUMENT_NAMES_FUNCTION = `
    CREATE FUNCTION audit_document_names(content json) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      WITH entity AS (
        SELECT x FROM json_array_elements(CASE WHEN json_typeof(content->'entity') = 'array' THEN content->'entity' ELSE '[]'::json END) AS x
      ),
      referenced AS (
        SELECT (regexp_match(x->'what'->>'reference', '(^|/)(DocumentReference|Binary)/([A-Za-z0-9.-]{1,64})(/_history/[^/]*){0,1}$'))[3] AS name
        FROM entity
      ),
      queried AS (
        SELECT term AS name
        FROM entity,
             regexp_split_to_table(encode(decode(x->>'query', 'base64'), 'escape'), '(%[0-9A-Fa-f]{2}|\\\\[0-7]{3}|[^A-Za-z0-9.-])+') AS term
        WHERE x->>'query' ~ '^[A-Za-z0-9+/]*={0,2}$' AND length(x->>'query') % 4 = 0
      )
      SELECT coalesce(array_agg(DISTINCT name), '{}')
      FROM (SELECT name FROM referenced UNION ALL SELECT name FROM queried) AS named
      WHERE name ~ '^[A-Za-z0-9.-]{1,64}$'
    $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ${DOCUMENT_NAMES_FUNCTION}
    ALTER TABLE audit_events ADD COLUMN names text[] GENERATED ALWAYS AS (audit_document_names(content)) STORED;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE audit_events DROP COLUMN names;
    DROP FUNCTION audit_document_names(json);
  `);
}
