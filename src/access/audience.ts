/**
 * The audience of a document, as `$access` lists it (CONTRACT §10): every
 * practitioner who has accessed its patient X's space (in the events of X's
 * history the asker is served) or holds an `authorize`, `block` or
 * `administrator` choice of X — an Organization's choice is held by every
 * practitioner with an active role there — each made the caller
 * identification would make them (their active PractitionerRoles,
 * identity/resolve.ts `activeGrants`) and explained by explanation.ts, that
 * is by decide() on the document's facts as the access indexer stored them
 * and X's choices in force.
 *
 * Reads the access tables, the directory and the history through the
 * executor it is given. Answers nobody by itself: the operation
 * (api/interactions/access.ts) first makes sure its caller may read the
 * document and is X or X's legal representative.
 */
import type { Practitioner, PractitionerRole } from 'fhir/r4';
import type { PractitionerCaller } from '../kernel/caller';
import type { RowPredicate } from '../kernel/predicate';
import { localReference } from '../kernel/reference';
import type { Executor } from '../store/executor';
import { createCallerLookup } from '../identity/lookup';
import { activeGrants } from '../identity/resolve';
import type { AccessHistory } from './access-history';
import { actorsCovering, professionsOf, type AccessWorld, type DecisionContext } from './decision';
import { explainFor, type ProfessionalAccess } from './explanation';
import type { ConsentRule, RowFacts } from './facts';
import { AccessFactsReader } from './facts-reader';
import type { AuthorizationGrid } from './grid';
import { spaceOpenSql, textArray } from './sql';

/** The choices that put a practitioner in a document's audience (CONTRACT §10). */
export const AUDIENCE_KINDS = ['authorize', 'block', 'administrator'] as const;
export type AudienceKind = (typeof AUDIENCE_KINDS)[number];

export interface AudienceMember extends ProfessionalAccess {
  /** The Practitioner's name in the directory, when it has one. */
  display?: string;
  /** TRE_G15 codes of the active roles. */
  professions: string[];
  /** Whether the history (as the asker is served it) shows a successful read of X's data. */
  accessed: boolean;
  /** The choices of X naming this practitioner (or an Organization of one of their active roles). */
  choices: AudienceKind[];
}

export interface DocumentAudience {
  documentId: string;
  patientId: string;
  members: AudienceMember[];
}

export interface AudienceOptions {
  grid: AuthorizationGrid;
  inCompartment: (resourceType: string) => boolean;
  /** "P has accessed X's space", read through `sql` (audit/access-history.ts). */
  accessHistory: (sql: Executor) => AccessHistory;
  /** The server's FHIR base: an Organization named absolutely on it is the same Organization. */
  baseUrl?: string;
}

interface FactsRow {
  patient_id: string | null;
  created_by: string;
  parties: string[];
  type_keys: string[];
  labels: string[];
}

export class DocumentAudiences {
  constructor(private readonly options: AudienceOptions) {}

  /**
   * The audience of the current DocumentReference `documentId`, read through
   * `sql`; `reader`: the asker's access predicates (which history events
   * count). Undefined when it has no facts or no patient.
   */
  async of(sql: Executor, documentId: string, reader: (resourceType: string) => RowPredicate, now = new Date()): Promise<DocumentAudience | undefined> {
    const document = await documentFacts(sql, documentId);
    if (!document?.patientId) return undefined;
    const patientId = document.patientId;
    const rules = await new AccessFactsReader(sql).rulesOf(patientId);
    const closed = !(await spaceOpen(sql, patientId));
    const world: AccessWorld = {
      rulesOf: (id) => (id === patientId ? rules : []),
      linkingDocuments: () => [], // a DocumentReference is no attachment: nothing links to it (facts.ts ATTACHMENT_TYPES)
      document: () => undefined, // asked only for a Binary's securityContext
      closedSpace: (id) => id === patientId && closed,
    };
    const context: DecisionContext = { grid: this.options.grid, inCompartment: this.options.inCompartment };
    const accessed = new Set(await this.options.accessHistory(sql).accessors(patientId, reader));
    const holders = await this.holders(sql, rules);
    const ids = [...new Set([...accessed, ...holders.keys()])].sort();
    const callers = await practitionerCallers(sql, ids, now);
    const names = await practitionerNames(sql, ids);
    const members = callers.map((caller): AudienceMember => {
      const covering = actorsCovering(caller);
      const choices = AUDIENCE_KINDS.filter((kind) => rules.some((rule) => rule.kind === kind && rule.actor !== null && covering.includes(rule.actor)));
      return {
        ...explainFor(caller, document, world, context),
        ...(names.has(caller.practitionerId) ? { display: names.get(caller.practitionerId) } : {}),
        professions: professionsOf(caller),
        accessed: accessed.has(caller.practitionerId),
        choices,
      };
    });
    return { documentId, patientId, members };
  }

  /** Practitioners holding an audience choice: named, or with an active role at a named Organization (checked on their caller). */
  private async holders(sql: Executor, rules: readonly ConsentRule[]): Promise<Set<string>> {
    const actors = rules.filter((rule) => (AUDIENCE_KINDS as readonly string[]).includes(rule.kind) && rule.actor !== null).map((rule) => rule.actor as string);
    const holders = new Set(actors.filter((actor) => actor.startsWith('Practitioner/')).map((actor) => actor.slice('Practitioner/'.length)));
    const organizations = [...new Set(actors.filter((actor) => actor.startsWith('Organization/')))];
    if (organizations.length === 0) return holders;
    const forms = organizations.flatMap((organization) => [organization, ...(this.options.baseUrl ? [`${this.options.baseUrl}/${organization}`] : [])]);
    const { rows } = await sql.query<{ content: PractitionerRole }>(
      `SELECT content FROM resources WHERE resource_type = 'PractitionerRole' AND NOT deleted AND content->'organization'->>'reference' = ANY(?::text[])`,
      [textArray(forms)],
    );
    const staff = new Set(rows.flatMap((row) => {
      const practitioner = localReference(row.content.practitioner?.reference);
      return practitioner?.type === 'Practitioner' ? [practitioner.id] : [];
    }));
    // kept only when one of their active roles is at the Organization: the one who is covered (decision.ts actorsCovering)
    for (const caller of await practitionerCallers(sql, [...staff].sort(), new Date())) {
      if (actorsCovering(caller).some((actor) => organizations.includes(actor))) holders.add(caller.practitionerId);
    }
    return holders;
  }
}

/** The facts of the current DocumentReference as the access indexer wrote them, as decide() reads a row. */
async function documentFacts(sql: Executor, id: string): Promise<RowFacts | undefined> {
  const { rows } = await sql.query<FactsRow>(
    `SELECT f.patient_id, r.created_by, f.parties, f.type_keys, f.labels FROM resources r JOIN access_facts f ON f.rid = r.rid
     WHERE r.resource_type = 'DocumentReference' AND r.id = ? AND NOT r.deleted`,
    [id],
  );
  const row = rows[0];
  return (
    row && { resourceType: 'DocumentReference', id, patientId: row.patient_id, createdBy: row.created_by, parties: row.parties, typeKeys: row.type_keys, labels: row.labels, context: null }
  );
}

async function spaceOpen(sql: Executor, patientId: string): Promise<boolean> {
  const { rows } = await sql.query<{ open: boolean }>(`SELECT ${spaceOpenSql('?')} AS open`, [patientId]);
  return rows[0]?.open ?? true;
}

/** Each practitioner as identification resolves them: the grants of their active roles at `now`. */
async function practitionerCallers(sql: Executor, ids: readonly string[], now: Date): Promise<PractitionerCaller[]> {
  const lookup = createCallerLookup(sql);
  const callers: PractitionerCaller[] = [];
  for (const practitionerId of ids) {
    const roles = activeGrants(await lookup.activeRoles(practitionerId), practitionerId, now);
    callers.push({ kind: 'practitioner', sub: `$access:${practitionerId}`, scopes: [], practitionerId, roles });
  }
  return callers;
}

/** Names of these Practitioners in the directory: `text`, else prefix, given and family names. */
async function practitionerNames(sql: Executor, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql.query<{ id: string; content: Practitioner }>(
    `SELECT id, content FROM resources WHERE resource_type = 'Practitioner' AND NOT deleted AND id = ANY(?::text[])`,
    [textArray(ids)],
  );
  const names = new Map<string, string>();
  for (const { id, content } of rows) {
    const name = content.name?.find((candidate) => candidate.use === 'official') ?? content.name?.[0];
    const display = name?.text ?? [...(name?.prefix ?? []), ...(name?.given ?? []), name?.family].filter((part) => part).join(' ');
    if (display) names.set(id, display);
  }
  return names;
}
