/**
 * The access indexer: keeps `access_facts`, `attachment_links`,
 * `consent_rules` and `patient_access` (migration
 * 20261126000300_access_facts) in step with every write, inside the write's
 * transaction (ResourceIndexer), from the pure extractions of facts.ts. A
 * deleted resource keeps its facts and links (its history stays protected)
 * but a deleted or withdrawn Consent loses its rules at once, and its
 * patient's folded row is rebuilt under a row lock. References are read with
 * the one parser and the server's FHIR base, so `Binary/1`,
 * `$BASE_URL/fhir/Binary/1`, `Binary/1/_history/2` and `Binary/1?_format=json`
 * are one link. Never decides access; never reads rows for a client.
 */
import type { Consent, DocumentReference, FhirResource } from 'fhir/r4';
import type { Executor, SqlBinding } from '../store/executor';
import type { ResourceIndexer, StoredResource } from '../store/resources';
import type { NewRowCte } from '../kernel/stored';
import { fromRow, RESOURCE_COLUMNS } from '../store/resources';
import { localReference } from '../kernel/reference';
import { AuthorizationGrid } from './grid';
import { attachmentTargets, consentRulesOf, partyReferences, roleIdsOf, rowFactsOf, type AttachmentTarget, type ConsentRule, type RoleOwners, type RowFacts } from './facts';
import { FACT_TYPES, INVISIBLE_REPRESENTANTS_LEGAUX } from './vocabulary';
import { textArray } from './sql';


interface PreviousFacts {
  type_keys: string[];
  labels: string[];
  legal_label_removed: boolean;
}

/** The practitioners of these PractitionerRoles (current versions). */
export async function roleOwnersOf(db: Executor, roleIds: readonly string[], baseUrl?: string): Promise<RoleOwners> {
  const owners = new Map<string, string>();
  if (roleIds.length > 0) {
    const result = await db.query<{ id: string; practitioner: string | null }>(
      `SELECT id, content->'practitioner'->>'reference' AS practitioner FROM resources WHERE resource_type = 'PractitionerRole' AND id = ANY(?::text[]) AND NOT deleted`,
      [textArray([...new Set(roleIds)])],
    );
    for (const row of result.rows) {
      const parsed = localReference(row.practitioner, baseUrl);
      if (parsed?.type === 'Practitioner') owners.set(row.id, parsed.id);
    }
  }
  return (roleId) => owners.get(roleId);
}

/** Role ids a resource names where they matter to the rules (parties, consent actors). */
function referencedRoles(row: StoredResource, baseUrl: string | undefined): string[] {
  const content = row.content as FhirResource | null;
  if (!content) return [];
  const references = partyReferences(content);
  if (content.resourceType === 'Consent') references.push(...(content.provision?.actor ?? []).map((actor) => actor.reference));
  return roleIdsOf(references, baseUrl);
}

export class AccessIndexer implements ResourceIndexer {
  /** `baseUrl`: the server's FHIR base (`$BASE_URL/fhir`), so absolute references on it are local. */
  constructor(
    private readonly grid: AuthorizationGrid = AuthorizationGrid.load(),
    private readonly baseUrl?: string,
  ) {}

  /** A new row's facts and links, when they name no PractitionerRole (whose practitioner is read) and it is no Consent (whose rules fold). */
  newRowCtes(row: StoredResource): NewRowCte[] | undefined {
    if (!FACT_TYPES.includes(row.resourceType)) return [];
    if (row.resourceType === 'Consent' || row.deleted || !row.content || referencedRoles(row, this.baseUrl).length > 0) return undefined;
    const facts = rowFactsOf(row, this.grid, () => undefined, [], this.baseUrl);
    const ctes: NewRowCte[] = [{ sql: `INSERT INTO access_facts (${FACT_COLUMNS}) SELECT new_row.rid, ${FACT_VALUES}, false FROM new_row`, bindings: factBindings(facts) }];
    const content = row.content as FhirResource;
    const targets = content.resourceType === 'DocumentReference' ? attachmentTargets(content, this.baseUrl) : [];
    if (targets.length > 0) ctes.push(linksInsert('new_row.rid', 'new_row, ', targets));
    return ctes;
  }

  async index(trx: Executor, row: StoredResource): Promise<void> {
    if (!FACT_TYPES.includes(row.resourceType)) return;
    if (row.resourceType === 'Consent') return this.indexConsent(trx, row);
    await this.indexFacts(trx, row);
  }

  /** A Consent: its facts, its rules replaced, and the folded choices of every patient concerned. */
  private async indexConsent(trx: Executor, row: StoredResource): Promise<void> {
    const removed = await trx.query<{ patient_id: string }>('DELETE FROM consent_rules WHERE consent_rid = ? RETURNING patient_id', [row.rid]);
    const rules = await this.indexFacts(trx, row);
    await foldPatientAccess(trx, [...removed.rows.map((r) => r.patient_id), ...rules.map((rule) => rule.patientId)]);
  }

  /** Facts (and links, rules) of a live row; returns the consent rules written. */
  private async indexFacts(trx: Executor, row: StoredResource): Promise<ConsentRule[]> {
    if (row.deleted || !row.content) return []; // facts and links stay with the deleted resource
    const owners = await roleOwnersOf(trx, referencedRoles(row, this.baseUrl), this.baseUrl);
    const previous = row.versionId === 1 ? undefined : await previousFacts(trx, row.rid);
    const facts = rowFactsOf(row, this.grid, owners, previous?.type_keys ?? [], this.baseUrl);
    const legalLabelRemoved = (previous?.legal_label_removed ?? false) || ((previous?.labels.includes(INVISIBLE_REPRESENTANTS_LEGAUX) ?? false) && !facts.labels.includes(INVISIBLE_REPRESENTANTS_LEGAUX));
    await writeFacts(trx, row.rid, facts, legalLabelRemoved);
    const content = row.content as FhirResource;
    if (content.resourceType === 'DocumentReference') await writeLinks(trx, row.rid, attachmentTargets(content, this.baseUrl), row.versionId > 1);
    if (content.resourceType !== 'Consent') return [];
    const rules = consentRulesOf(content, owners, this.baseUrl);
    await writeRules(trx, row.rid, rules);
    return rules;
  }
}

/**
 * Folds the active rules of these patients into their patient_access row.
 * The row lock (taken first, in id order) serializes concurrent choices of
 * one patient: the fold runs after the other writer committed, in a new
 * statement that sees its rules, so no choice is ever lost.
 */
export async function foldPatientAccess(db: Executor, patientIds: readonly string[]): Promise<void> {
  for (const patientId of [...new Set(patientIds)].sort()) {
    await db.query('INSERT INTO patient_access (patient_id) VALUES (?) ON CONFLICT (patient_id) DO NOTHING', [patientId]);
    await db.query('SELECT 1 FROM patient_access WHERE patient_id = ? FOR UPDATE', [patientId]);
    await db.query(`UPDATE patient_access pa SET ${FOLD} WHERE pa.patient_id = ?`, [patientId]);
  }
}

/** patient_access columns from consent_rules (pa.patient_id in scope). */
const FOLD = `
  authorized = ARRAY(SELECT DISTINCT c.actor_ref FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'authorize' AND c.actor_ref IS NOT NULL ORDER BY 1),
  blocked = ARRAY(SELECT DISTINCT c.actor_ref FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'block' AND c.actor_ref IS NOT NULL ORDER BY 1),
  administrators = ARRAY(SELECT DISTINCT c.actor_ref FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'administrator' AND c.actor_ref IS NOT NULL ORDER BY 1),
  hide_all = EXISTS (SELECT 1 FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'hide-all'),
  etreat_denied = EXISTS (SELECT 1 FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'emergency' AND c.purpose = 'ETREAT' AND c.effect = 'deny'),
  btg_denied = EXISTS (SELECT 1 FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'emergency' AND c.purpose = 'BTG' AND c.effect = 'deny'),
  masked_permitted = EXISTS (SELECT 1 FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'emergency' AND c.purpose = 'MASKED' AND c.effect = 'permit')
    AND NOT EXISTS (SELECT 1 FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'emergency' AND c.purpose = 'MASKED' AND c.effect = 'deny'),
  hidden_documents = ARRAY(SELECT DISTINCT COALESCE(c.actor_ref, '*') || '|' || c.data_id FROM consent_rules c WHERE c.patient_id = pa.patient_id AND c.kind = 'hide-document' AND c.data_id IS NOT NULL ORDER BY 1)`;

/** Folds every patient's rules at once (bulk loads, reindex). */
export async function foldAllPatientAccess(db: Executor): Promise<void> {
  await db.query('DELETE FROM patient_access');
  await db.query('INSERT INTO patient_access (patient_id) SELECT DISTINCT patient_id FROM consent_rules');
  await db.query(`UPDATE patient_access pa SET ${FOLD}`);
}

async function previousFacts(db: Executor, rid: number): Promise<PreviousFacts | undefined> {
  const result = await db.query<PreviousFacts>('SELECT type_keys, labels, legal_label_removed FROM access_facts WHERE rid = ?', [rid]);
  return result.rows[0];
}

const FACT_COLUMNS = 'rid, resource_type, id, patient_id, parties, type_keys, labels, context_type, context_id, legal_label_removed';
/** The placeholders of the columns between rid and legal_label_removed, for factBindings. */
const FACT_VALUES = '?, ?, ?, ?::text[], ?::text[], ?::text[], ?, ?';

function factBindings(facts: RowFacts): SqlBinding[] {
  return [facts.resourceType, facts.id, facts.patientId, textArray(facts.parties), textArray(facts.typeKeys), textArray(facts.labels), facts.context?.type ?? null, facts.context?.id ?? null];
}

/** The INSERT of a document's attachment links, its rid `ridSql` (read FROM `from` when given). */
function linksInsert(ridSql: string, from: string, targets: readonly AttachmentTarget[], bindings: SqlBinding[] = []): NewRowCte {
  return {
    sql: `INSERT INTO attachment_links (target_type, target_id, document_rid) SELECT t.type, t.id, ${ridSql} FROM ${from}json_to_recordset(?::json) AS t(type text, id text)`,
    bindings: [...bindings, JSON.stringify(targets.map(({ type, id }) => ({ type, id })))],
  };
}

async function writeFacts(db: Executor, rid: number, facts: RowFacts, legalLabelRemoved: boolean): Promise<void> {
  await db.query(
    `INSERT INTO access_facts (${FACT_COLUMNS})
     VALUES (?, ${FACT_VALUES}, ?)
     ON CONFLICT (rid) DO UPDATE SET patient_id = EXCLUDED.patient_id, parties = EXCLUDED.parties, type_keys = EXCLUDED.type_keys, labels = EXCLUDED.labels,
       context_type = EXCLUDED.context_type, context_id = EXCLUDED.context_id, legal_label_removed = EXCLUDED.legal_label_removed`,
    [rid, ...factBindings(facts), legalLabelRemoved],
  );
}

async function writeLinks(db: Executor, rid: number, targets: readonly AttachmentTarget[], replace: boolean): Promise<void> {
  if (replace) await db.query('DELETE FROM attachment_links WHERE document_rid = ?', [rid]);
  if (targets.length === 0) return;
  const insert = linksInsert('?', '', targets, [rid]);
  await db.query(insert.sql, insert.bindings);
}

async function writeRules(db: Executor, rid: number, rules: ConsentRule[]): Promise<void> {
  if (rules.length === 0) return;
  const records = rules.map((rule) => ({ consent_rid: rid, patient_id: rule.patientId, kind: rule.kind, effect: rule.effect, actor_ref: rule.actor, data_id: rule.dataId, purpose: rule.purpose }));
  await db.query(
    `INSERT INTO consent_rules (consent_rid, patient_id, kind, effect, actor_ref, data_id, purpose)
     SELECT consent_rid, patient_id, kind, effect, actor_ref, data_id, purpose
     FROM json_to_recordset(?::json) AS x(consent_rid bigint, patient_id text, kind text, effect text, actor_ref text, data_id text, purpose text)`,
    [JSON.stringify(records)],
  );
}

/** Runs several indexers in order, in the same transaction. */
export function composeIndexers(...indexers: ResourceIndexer[]): ResourceIndexer {
  return {
    async index(trx, row) {
      for (const indexer of indexers) await indexer.index(trx, row);
    },
    newRowCtes(row) {
      const ctes: NewRowCte[] = [];
      for (const indexer of indexers) {
        const own = indexer.newRowCtes?.(row);
        if (!own) return undefined;
        ctes.push(...own);
      }
      return ctes;
    },
  };
}

/**
 * Rebuilds every access table from `resources` (migration, repair): each
 * rule-carrying row is indexed again, versions replayed so a document keeps
 * the grid keys of every version it had.
 */
export async function reindexAccessFacts(db: Executor, grid: AuthorizationGrid = AuthorizationGrid.load(), baseUrl?: string): Promise<number> {
  const indexer = new AccessIndexer(grid, baseUrl);
  await db.query('TRUNCATE access_facts, attachment_links, consent_rules, patient_access');
  let after = 0;
  let count = 0;
  for (;;) {
    const batch = await db.query<Parameters<typeof fromRow>[0]>(
      `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE resource_type = ANY(?::text[]) AND rid > ? ORDER BY rid LIMIT 500`,
      [textArray(FACT_TYPES), after],
    );
    if (batch.rows.length === 0) return count;
    await db.transaction(async (trx) => {
      for (const raw of batch.rows) {
        const row = fromRow(raw);
        const versions = await trx.query<{ content: Consent | DocumentReference | null; version_id: number }>(
          'SELECT version_id, content FROM resource_versions WHERE rid = ? AND content IS NOT NULL AND version_id < ? ORDER BY version_id',
          [row.rid, row.versionId],
        );
        for (const version of versions.rows) await indexer.index(trx, { ...row, versionId: version.version_id, deleted: false, content: version.content });
        await indexer.index(trx, row); // a deleted row keeps the facts of its last version and drops its consent rules
        count++;
      }
    });
    after = Number(batch.rows[batch.rows.length - 1].rid);
  }
}
