/**
 * Reads the access tables for the write rules and checkPatientSpace: the
 * active consent rules of a patient, a document's facts, the practitioners
 * behind PractitionerRoles, a practitioner's roles, and which of some rows
 * a submitter may already see (attachment-writes.ts). Reads only what the
 * rules need, never answers a client with a row.
 *
 * A patient whose space is closed (CONTRACT §7) reads here as one that never
 * existed: no choices in force, no Patient to submit to, not known to the
 * audit's verification (the probe of sql.ts `spaceOpenSql`).
 */
import { localReference } from '../kernel/reference';
import type { RowPredicate } from '../kernel/predicate';
import type { Executor, SqlBinding } from '../store/executor';
import type { ConsentRule, RoleOwners } from './facts';
import { roleOwnersOf } from './indexer';
import { spaceOpenSql, textArray } from './sql';
import type { ConsentKind, EmergencyPurpose } from './vocabulary';


export interface DocumentState {
  rid: number;
  patientId: string | null;
  parties: string[];
  labels: string[];
  legalLabelRemoved: boolean;
}

interface RuleRow {
  consent_rid: string;
  patient_id: string;
  kind: ConsentKind;
  effect: 'permit' | 'deny';
  actor_ref: string | null;
  data_id: string | null;
  purpose: EmergencyPurpose | null;
}

/** FROM … WHERE of the live Patient `?` whose space is not closed, and of its active rules (one binding each). */
const LIVE_PATIENT = `resources WHERE resource_type = 'Patient' AND id = ? AND NOT deleted AND ${spaceOpenSql('resources.id')}`;
const RULES_OF_PATIENT = `consent_rules WHERE patient_id = ? AND ${spaceOpenSql('consent_rules.patient_id')}`;

const toRule = (row: RuleRow): ConsentRule => ({ patientId: row.patient_id, kind: row.kind, effect: row.effect, actor: row.actor_ref, dataId: row.data_id, purpose: row.purpose });

export class AccessFactsReader {
  constructor(protected readonly db: Executor) {}

  /**
   * A reader for one check (write-rules.ts checkWriteRules): the same
   * answers, but a patient's existence and active rules, which a
   * practitioner's write both asks, are read by one statement, once. Nothing
   * is written during a check, so nothing it remembers goes stale.
   */
  forOneCheck(): AccessFactsReader {
    return new OneCheckFacts(this.db);
  }

  /** Active consent rules of the patient (optionally without those of one Consent, being rewritten). */
  async rulesOf(patientId: string, exceptConsentRid?: number): Promise<ConsentRule[]> {
    const result = await this.db.query<RuleRow>(`SELECT * FROM ${RULES_OF_PATIENT}`, [patientId]);
    return result.rows.filter((row) => exceptConsentRid === undefined || Number(row.consent_rid) !== exceptConsentRid).map(toRule);
  }

  /** `patientExists` and `rulesOf`, in one statement. */
  protected async patientFacts(patientId: string): Promise<{ exists: boolean; rules: ConsentRule[] }> {
    const result = await this.db.query<{ exists: boolean; rules: RuleRow[] }>(
      `SELECT EXISTS (SELECT 1 FROM ${LIVE_PATIENT}) AS exists, COALESCE((SELECT json_agg(consent_rules) FROM ${RULES_OF_PATIENT}), '[]') AS rules`,
      [patientId, patientId],
    );
    const row = result.rows[0];
    return { exists: row.exists, rules: row.rules.map(toRule) };
  }

  /** Facts of a document by rid (its current row). */
  async documentByRid(rid: number): Promise<DocumentState | undefined> {
    return this.document('rid = ?', [rid]);
  }

  /** Facts of the DocumentReference with this id. */
  async documentById(id: string): Promise<DocumentState | undefined> {
    return this.document(`id = ? AND resource_type = 'DocumentReference'`, [id]);
  }

  private async document(where: string, bindings: SqlBinding[]): Promise<DocumentState | undefined> {
    const result = await this.db.query<{ rid: string; patient_id: string | null; parties: string[]; labels: string[]; legal_label_removed: boolean }>(
      `SELECT rid, patient_id, parties, labels, legal_label_removed FROM access_facts WHERE ${where}`,
      bindings,
    );
    const row = result.rows[0];
    return row && { rid: Number(row.rid), patientId: row.patient_id, parties: row.parties, labels: row.labels, legalLabelRemoved: row.legal_label_removed };
  }

  /**
   * Of these ids of `type`, those of live rows `submitter` created or the
   * submitter's access predicate lets through: what the submitter may
   * already see. A row that does not exist and a row hidden from the
   * submitter are both absent from the answer; so is the submitter's own row
   * in a closed space (`open`: sql.ts compileOpen).
   */
  async seenBy(submitter: string, readable: RowPredicate, open: RowPredicate, type: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const predicate = readable.render('r');
    const unclosed = open.render('r');
    const result = await this.db.query<{ id: string }>(
      `SELECT r.id FROM resources r WHERE r.resource_type = ? AND r.id = ANY(?::text[]) AND NOT r.deleted AND ((r.created_by = ? AND ${unclosed.sql}) OR (${predicate.sql}))`,
      [type, textArray([...new Set(ids)]), submitter, ...unclosed.bindings, ...predicate.bindings],
    );
    return new Set(result.rows.map((row) => row.id));
  }

  /** Whether Patient/X exists, is not deleted and its space is not closed (the write rules submit nothing to any other). */
  async patientExists(patientId: string): Promise<boolean> {
    const result = await this.db.query<{ id: string }>(`SELECT id FROM ${LIVE_PATIENT}`, [patientId]);
    return result.rows.length > 0;
  }

  /** Patients among `ids` stored (deleted ones included) whose space is not closed: the patients a request may learn exist. */
  async knownPatients(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const result = await this.db.query<{ id: string }>(`SELECT id FROM resources WHERE resource_type = 'Patient' AND id = ANY(?::text[]) AND ${spaceOpenSql('resources.id')}`, [textArray([...new Set(ids)])]);
    return new Set(result.rows.map((row) => row.id));
  }

  roleOwners(roleIds: readonly string[]): Promise<RoleOwners> {
    return roleOwnersOf(this.db, roleIds);
  }

  /** The Organization (`Organization/O`) a (non-deleted) PractitionerRole names, if any. */
  async organizationOfRole(roleId: string): Promise<string | undefined> {
    const result = await this.db.query<{ organization: string | null }>(
      `SELECT content->'organization'->>'reference' AS organization FROM resources
       WHERE resource_type = 'PractitionerRole' AND NOT deleted AND id = ?`,
      [roleId],
    );
    const parsed = localReference(result.rows[0]?.organization);
    return parsed?.type === 'Organization' ? `Organization/${parsed.id}` : undefined;
  }

  /** Every (non-deleted) PractitionerRole of P, active or not: ids and organizations (`Organization/O`). */
  async rolesOf(practitionerId: string): Promise<{ roleIds: string[]; organizations: string[] }> {
    const result = await this.db.query<{ id: string; organization: string | null }>(
      `SELECT id, content->'organization'->>'reference' AS organization FROM resources
       WHERE resource_type = 'PractitionerRole' AND NOT deleted AND content->'practitioner'->>'reference' = ?`,
      [`Practitioner/${practitionerId}`],
    );
    const organizations = result.rows.flatMap((row) => {
      const parsed = localReference(row.organization);
      return parsed?.type === 'Organization' ? [`Organization/${parsed.id}`] : [];
    });
    return { roleIds: result.rows.map((row) => row.id), organizations };
  }
}

/** AccessFactsReader.forOneCheck. */
class OneCheckFacts extends AccessFactsReader {
  private readonly patients = new Map<string, Promise<{ exists: boolean; rules: ConsentRule[] }>>();

  private factsOf(patientId: string): Promise<{ exists: boolean; rules: ConsentRule[] }> {
    let facts = this.patients.get(patientId);
    if (!facts) {
      facts = this.patientFacts(patientId);
      this.patients.set(patientId, facts);
    }
    return facts;
  }

  override async rulesOf(patientId: string, exceptConsentRid?: number): Promise<ConsentRule[]> {
    if (exceptConsentRid !== undefined) return super.rulesOf(patientId, exceptConsentRid);
    return (await this.factsOf(patientId)).rules;
  }

  override async patientExists(patientId: string): Promise<boolean> {
    return (await this.factsOf(patientId)).exists;
  }
}
