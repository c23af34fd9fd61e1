/**
 * The activity history (CONTRACT §6): AuditEvents in their own append-only
 * tables, outside `resources`, so they are written in batches and chained.
 *
 * - `audit_events`: one row per AuditEvent, about one patient. `position`
 *   counts each patient's events from 1; `hash` = SHA-256 over the previous
 *   hash, the patient, the position and the exact stored text of `content`
 *   (a `json` column keeps its bytes; src/audit/chain.ts recomputes it).
 *   A trigger refuses UPDATE and TRUNCATE, and DELETE unless the session set
 *   `carnet.audit_purge = on` (the 10-year purge of a closed account).
 * - `audit_heads`: the last position and hash of each patient's chain, locked
 *   FOR UPDATE by every batch that appends to it (serialises chains across
 *   processes) and compared by $verify-audit (catches removed latest events).
 * - `notification_outbox`: one row per AuditEvent, inserted in the same
 *   transaction, claimed by the notification worker (src/notify/).
 * - `audit_append(batch, digest_seconds)`: the group commit's one statement
 *   (src/audit/trail.ts): locks the batch's heads in patient order, links and
 *   inserts each event in batch order, queues its outbox row, moves the head.
 */
import type { Knex } from 'knex';

/** audit_append as this migration made it (migration 20261205000000 replaces it; its down restores this one). */
export const AUDIT_APPEND_V1 = `
    CREATE FUNCTION audit_append(batch jsonb, digest_seconds double precision) RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE
      item jsonb;
      patient text;
      at integer;
      heads text[];       -- the batch's patients, and in step: their last position and hash
      found text[];
      head_positions bigint[];
      head_hashes text[];
      positions bigint[] := '{}';  -- per event, in batch order
      prev_hashes text[] := '{}';
      hashes text[] := '{}';
    BEGIN
      SELECT array_agg(DISTINCT e->>'patient_id') INTO heads FROM jsonb_array_elements(batch) AS e;
      SELECT array_agg(h.patient_id), array_agg(h.position), array_agg(h.hash) INTO found, head_positions, head_hashes
        FROM (SELECT patient_id, position, hash FROM audit_heads WHERE patient_id = ANY(heads) ORDER BY patient_id FOR UPDATE) h;
      IF coalesce(cardinality(found), 0) < cardinality(heads) THEN -- first events of some patients: create their heads
        INSERT INTO audit_heads (patient_id) SELECT p FROM unnest(heads) AS p ORDER BY p ON CONFLICT DO NOTHING;
        SELECT array_agg(h.patient_id), array_agg(h.position), array_agg(h.hash) INTO found, head_positions, head_hashes
          FROM (SELECT patient_id, position, hash FROM audit_heads WHERE patient_id = ANY(heads) ORDER BY patient_id FOR UPDATE) h;
      END IF;
      heads := found;
      FOR item IN SELECT a.value FROM jsonb_array_elements(batch) WITH ORDINALITY AS a(value, ord) ORDER BY a.ord LOOP
        patient := item->>'patient_id';
        at := array_position(heads, patient);
        head_positions[at] := head_positions[at] + 1;
        positions := positions || head_positions[at];
        prev_hashes := prev_hashes || head_hashes[at];
        head_hashes[at] := encode(sha256(convert_to(head_hashes[at] || '|' || patient || '|' || head_positions[at] || '|' || (item->>'content'), 'UTF8')), 'hex');
        hashes := hashes || head_hashes[at];
      END LOOP;
      WITH stored AS (
        INSERT INTO audit_events (id, patient_id, position, recorded, agent, action, subtype, outcome, purpose, content, prev_hash, hash)
        SELECT e->>'id', e->>'patient_id', l.position, (e->>'recorded')::timestamptz, e->>'agent', e->>'action', e->>'subtype',
               (e->>'outcome')::smallint, e->>'purpose', (e->>'content')::json, l.prev_hash, l.hash
        FROM jsonb_array_elements(batch) WITH ORDINALITY AS a(e, ord)
        JOIN unnest(positions, prev_hashes, hashes) WITH ORDINALITY AS l(position, prev_hash, hash, ord) ON l.ord = a.ord
        ORDER BY a.ord
        RETURNING seq, patient_id, purpose IN ('ETREAT', 'BTG') AS urgent
      )
      INSERT INTO notification_outbox (audit_seq, patient_id, emergency, next_attempt_at)
        SELECT seq, patient_id, coalesce(urgent, false),
               CASE WHEN urgent THEN now() ELSE now() + make_interval(secs => digest_seconds) END
        FROM stored;
      UPDATE audit_heads h SET position = m.position, hash = m.hash
        FROM unnest(heads, head_positions, head_hashes) AS m(patient_id, position, hash)
        WHERE h.patient_id = m.patient_id;
      RETURN jsonb_array_length(batch);
    END $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE audit_events (
      seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id         text        NOT NULL,
      patient_id text        NOT NULL,
      position   bigint      NOT NULL,
      recorded   timestamptz NOT NULL,
      agent      text        NOT NULL,
      action     text        NOT NULL,
      subtype    text        NOT NULL,
      outcome    smallint    NOT NULL,
      purpose    text,
      content    json        NOT NULL,
      prev_hash  text        NOT NULL,
      hash       text        NOT NULL,
      CONSTRAINT audit_events_id UNIQUE (id),
      CONSTRAINT audit_events_chain UNIQUE (patient_id, position)
    );
    -- the patient's history, newest first, keyset-paged on (recorded, seq)
    CREATE INDEX audit_events_history ON audit_events (patient_id, recorded DESC, seq DESC);

    CREATE TABLE audit_heads (
      patient_id text   PRIMARY KEY,
      position   bigint NOT NULL DEFAULT 0,
      hash       text   NOT NULL DEFAULT ''
    );

    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('carnet.audit_purge', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

    CREATE TABLE notification_outbox (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      audit_seq       bigint      NOT NULL,
      patient_id      text        NOT NULL,
      emergency       boolean     NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
      attempts        integer     NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      claim_token     uuid,
      claimed_until   timestamptz,
      sent_at         timestamptz,
      message_id      text,
      last_error      text
    );
    CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at, id) WHERE status = 'pending';
    CREATE INDEX notification_outbox_patient ON notification_outbox (patient_id) WHERE status = 'pending';

    ${AUDIT_APPEND_V1}
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE notification_outbox;
    DROP TABLE audit_heads;
    DROP TABLE audit_events;
    DROP FUNCTION audit_append(jsonb, double precision);
    DROP FUNCTION audit_events_append_only();
  `);
}
