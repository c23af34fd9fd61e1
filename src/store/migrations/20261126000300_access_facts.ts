/**
 * Tables of the access rules (docs/ARCHITECTURE.md, "The access decision"), filled by the access
 * indexer in each write's transaction and read by the SQL form of the
 * decision (src/access/sql.ts):
 * - consent_rules: one row per actor / document / purpose of every ACTIVE
 *   consent-kind Consent (withdrawn or deleted choices have no rows);
 * - access_facts: per DocumentReference, Binary, Bundle, Immunization,
 *   Appointment, Communication and Consent row: the practitioners taking part
 *   (resolved from PractitionerRoles) and the submitter, a document's grid
 *   keys (every version's) and visibility labels, a Binary's securityContext;
 *   kept when the resource is deleted, so its history stays protected;
 * - attachment_links: which DocumentReference points to which Binary/Bundle;
 * - patient_access: one row per patient with choices, folded from
 *   consent_rules (who is authorized, blocked, administrator; hide-all;
 *   emergency denials; hidden documents as `actor|id`, `*|id` for everyone),
 *   so a row's check is one primary-key probe here and one in access_facts.
 * Existing rows are indexed by the migration itself.
 */
import type { Knex } from 'knex';
import { PoolExecutor } from '../executor';
import { reindexAccessFacts } from '../../access/indexer';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE consent_rules (
      consent_rid bigint NOT NULL,
      patient_id  text   NOT NULL,
      kind        text   NOT NULL,
      effect      text   NOT NULL,
      actor_ref   text,
      data_id     text,
      purpose     text
    );
    -- the sets of one practitioner: who authorized, blocked or chose P as administrator
    CREATE INDEX consent_rules_actor ON consent_rules (actor_ref, kind) INCLUDE (patient_id) WHERE actor_ref IS NOT NULL;
    -- per-patient checks (hide-all, emergency choices, hidden documents) and write rules
    CREATE INDEX consent_rules_patient ON consent_rules (patient_id, kind) INCLUDE (effect, purpose, data_id, actor_ref);
    CREATE INDEX consent_rules_consent ON consent_rules (consent_rid);

    CREATE TABLE access_facts (
      rid                 bigint  NOT NULL,
      resource_type       text    NOT NULL,
      id                  text    NOT NULL,
      patient_id          text,
      parties             text[]  NOT NULL,
      type_keys           text[]  NOT NULL,
      labels              text[]  NOT NULL,
      context_type        text,
      context_id          text,
      legal_label_removed boolean NOT NULL DEFAULT false,
      -- one probe per row, answered from the index alone (index-only scan)
      CONSTRAINT access_facts_pkey PRIMARY KEY (rid) INCLUDE (patient_id, parties, type_keys, labels, context_type, context_id)
    );
    CREATE INDEX access_facts_id ON access_facts (id, resource_type);

    CREATE TABLE attachment_links (
      target_type  text   NOT NULL,
      target_id    text   NOT NULL,
      document_rid bigint NOT NULL
    );
    CREATE INDEX attachment_links_target ON attachment_links (target_id, target_type) INCLUDE (document_rid);
    CREATE INDEX attachment_links_document ON attachment_links (document_rid);

    CREATE TABLE patient_access (
      patient_id       text    PRIMARY KEY,
      authorized       text[]  NOT NULL DEFAULT '{}',
      blocked          text[]  NOT NULL DEFAULT '{}',
      administrators   text[]  NOT NULL DEFAULT '{}',
      hide_all         boolean NOT NULL DEFAULT false,
      etreat_denied    boolean NOT NULL DEFAULT false,
      btg_denied       boolean NOT NULL DEFAULT false,
      masked_permitted boolean NOT NULL DEFAULT false,
      hidden_documents text[]  NOT NULL DEFAULT '{}'
    );
  `);
  await reindexAccessFacts(new PoolExecutor(knex)); // inside the migration's transaction
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE patient_access; DROP TABLE attachment_links; DROP TABLE access_facts; DROP TABLE consent_rules;');
}
