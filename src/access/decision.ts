/**
 * THE access decision (CONTRACT §3, §4.3), as a pure function: may this
 * caller see this row? Inputs are the caller (with its purpose of use), the
 * row's facts, the active consent rules and the grid; no I/O. sql.ts
 * compiles the very same rules into a SQL predicate, and the property test
 * (test/access/agreement.property.test.ts) checks both agree on random worlds.
 * Also the patient-level steps 1–2 (`spaceEntry`) that checkPatientSpace and
 * the write rules use. Never allows what a rule denies.
 *
 * A closed space (CONTRACT §7) comes first, for every caller and every rule
 * class but shared data (`inClosedSpace`): its rows are denied as if they did
 * not exist, and so is every row of patient data for X and X's
 * representatives once X closed it. The policy reads a closed patient's
 * choices as none (facts-reader.ts), as it reads a patient that never existed.
 */
import type { Caller, PractitionerCaller } from '../kernel/caller';
import { submitterOf } from '../kernel/caller';
import { localReference } from '../kernel/reference';
import { HISTORY_FORBIDDEN, readsHistoryOf } from './audit-readers';
import type { ConsentRule, RowFacts } from './facts';
import type { AuthorizationGrid } from './grid';
import { INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX, MASQUE_PS, ruleClassOf, type PurposeOfUse } from './vocabulary';

export interface Decision {
  allow: boolean;
  reason: string;
}

/** What the decision may look up besides the row: the rules in force and the documents attachments follow. */
export interface AccessWorld {
  /** Active consent rules of the patient. */
  rulesOf(patientId: string): readonly ConsentRule[];
  /** Documents (deleted ones included) whose attachment points to this Binary or Bundle. */
  linkingDocuments(type: string, id: string): readonly RowFacts[];
  /** The current DocumentReference with this id, if any. */
  document(id: string): RowFacts | undefined;
  /** Whether patient X has closed their space (CONTRACT §7, `closed_spaces`). */
  closedSpace(patientId: string): boolean;
}

export interface DecisionContext {
  grid: AuthorizationGrid;
  inCompartment: (resourceType: string) => boolean;
}

const allow = (reason: string): Decision => ({ allow: true, reason });
const deny = (reason: string): Decision => ({ allow: false, reason });

export function purposeOf(caller: PractitionerCaller): PurposeOfUse {
  return caller.purposeOfUse ?? 'TREAT';
}

/** `Practitioner/P` and the organizations of P's active roles: who a consent actor may name to cover P. */
export function actorsCovering(caller: PractitionerCaller): string[] {
  const actors = new Set([`Practitioner/${caller.practitionerId}`]);
  for (const role of caller.roles) {
    const organization = localReference(role.organization);
    if (organization?.type === 'Organization') actors.add(`Organization/${organization.id}`);
  }
  return [...actors].sort();
}

export function professionsOf(caller: PractitionerCaller): string[] {
  return [...new Set(caller.roles.flatMap((role) => role.professions))].sort();
}

const covers = (rule: ConsentRule, actors: readonly string[]) => rule.actor !== null && actors.includes(rule.actor);

export const blockedBy = (rules: readonly ConsentRule[], actors: readonly string[]) => rules.some((r) => r.kind === 'block' && covers(r, actors));
export const authorizedBy = (rules: readonly ConsentRule[], actors: readonly string[]) => rules.some((r) => r.kind === 'authorize' && covers(r, actors));
export const administeredBy = (rules: readonly ConsentRule[], practitioner: string) => rules.some((r) => r.kind === 'administrator' && r.actor === practitioner);
export const hidesAll = (rules: readonly ConsentRule[]) => rules.some((r) => r.kind === 'hide-all');
export const emergencyDenied = (rules: readonly ConsentRule[], purpose: 'ETREAT' | 'BTG' | 'MASKED') =>
  rules.some((r) => r.kind === 'emergency' && r.purpose === purpose && r.effect === 'deny');
/** MASKED is off unless permitted, and a deny wins over a permit. */
export const maskedPermitted = (rules: readonly ConsentRule[]) =>
  rules.some((r) => r.kind === 'emergency' && r.purpose === 'MASKED' && r.effect === 'permit') && !emergencyDenied(rules, 'MASKED');

/** A document is hidden from P by its MASQUE_PS label or by a hide-document consent covering P (or everyone). */
export function hiddenFrom(document: RowFacts, rules: readonly ConsentRule[], actors: readonly string[]): boolean {
  if (document.labels.includes(MASQUE_PS)) return true;
  return rules.some((r) => r.kind === 'hide-document' && r.dataId === document.id && (r.actor === null || actors.includes(r.actor)));
}

/** Steps 1–2 for practitioner P and patient X: may P enter X's space, and may P reach what P takes part in? */
export interface SpaceEntry {
  /** Step 1 passed and step 2 passed: P reaches X's space (health data, documents under steps 3). */
  space: boolean;
  /** P reaches what P authored or takes part in (TREAT without authorization; never when blocked or refused in an emergency). */
  own: boolean;
  reason: string;
}

export const BLOCKED = 'blockedBy: the patient blocked this practitioner';

/** §3: a practitioner with no active PractitionerRole reaches nothing of any patient. */
export const NO_ACTIVE_ROLE = 'noActiveRole: the practitioner has no active PractitionerRole';

export function spaceEntry(caller: PractitionerCaller, rules: readonly ConsentRule[]): SpaceEntry {
  if (caller.roles.length === 0) return { space: false, own: false, reason: NO_ACTIVE_ROLE };
  const actors = actorsCovering(caller);
  if (blockedBy(rules, actors)) return { space: false, own: false, reason: BLOCKED };
  switch (purposeOf(caller)) {
    case 'TREAT':
      return authorizedBy(rules, actors)
        ? { space: true, own: true, reason: 'authorized by the patient' }
        : { space: false, own: true, reason: 'not authorized by the patient (TREAT)' };
    case 'ETREAT':
      if (!caller.roles.some((role) => role.samuRegulator)) return { space: false, own: false, reason: 'ETREAT needs the samu-regulator role' };
      return emergencyDenied(rules, 'ETREAT') ? { space: false, own: false, reason: 'the patient denies ETREAT' } : { space: true, own: true, reason: 'ETREAT (SAMU)' };
    case 'BTG':
      return emergencyDenied(rules, 'BTG') ? { space: false, own: false, reason: 'the patient denies BTG' } : { space: true, own: true, reason: 'breakGlass' };
  }
}

export const CLOSED_SPACE = 'closedSpace: the patient closed their space';

/**
 * §7: the row lies in a closed space — its patient's, or for an attachment
 * that of a document governing it or of its securityContext — or the caller
 * is patient X (or X's representative) and X closed their space.
 */
export function inClosedSpace(caller: Caller, row: RowFacts, world: AccessWorld): boolean {
  if ((caller.kind === 'patient' || caller.kind === 'related-person') && world.closedSpace(caller.patientId)) return true;
  const patients = [row.patientId, ...world.linkingDocuments(row.resourceType, row.id).map((document) => document.patientId)];
  if (row.context?.type === 'Patient') patients.push(row.context.id);
  if (row.context?.type === 'DocumentReference') patients.push(world.document(row.context.id)?.patientId ?? null);
  return patients.some((patientId) => patientId !== null && world.closedSpace(patientId));
}

/** The decision for one row. */
export function decide(caller: Caller, row: RowFacts, world: AccessWorld, context: DecisionContext): Decision {
  if (ruleClassOf(row.resourceType, context.inCompartment) !== 'shared' && inClosedSpace(caller, row, world)) return deny(CLOSED_SPACE);
  switch (caller.kind) {
    case 'practitioner':
      return decideForPractitioner(caller, row, world, context);
    case 'patient':
    case 'related-person':
      return decideForPatient(caller, row, world, context);
    case 'system':
      return decideForSystem(caller, row, context);
  }
}

function decideForSystem(caller: Caller, row: RowFacts, context: DecisionContext): Decision {
  const ruleClass = ruleClassOf(row.resourceType, context.inCompartment);
  if (ruleClass === 'shared') return allow('shared data');
  if (ruleClass === 'audit') return readsHistoryOf(caller, row.patientId) ? allow('own activity history') : deny(HISTORY_FORBIDDEN);
  return row.createdBy === submitterOf(caller) ? allow('created by this client') : deny('created by someone else');
}

function decideForPatient(caller: Caller & { patientId: string }, row: RowFacts, world: AccessWorld, context: DecisionContext): Decision {
  const me = submitterOf(caller);
  const own = row.patientId === caller.patientId || row.createdBy === me;
  switch (ruleClassOf(row.resourceType, context.inCompartment)) {
    case 'shared':
      return allow('shared data');
    case 'audit':
      return readsHistoryOf(caller, row.patientId) ? allow('own activity history') : deny('another patient');
    case 'document': {
      if (!own) return deny('another patient');
      if (row.labels.includes(INVISIBLE_PATIENT)) return deny('INVISIBLE_PATIENT');
      if (caller.kind === 'related-person' && row.labels.includes(INVISIBLE_REPRESENTANTS_LEGAUX)) return deny('INVISIBLE_REPRESENTANTS_LEGAUX');
      return allow('own document');
    }
    case 'attachment':
      if (row.createdBy === me) return allow('own upload');
      return followDocuments(row, world, (document) => decideForPatient(caller, document, world, context), (patientId) =>
        patientId === caller.patientId ? allow('own health profile') : deny('another patient'),
      );
    default:
      return own ? allow('own data') : deny('another patient');
  }
}

/**
 * Binary/Bundle (§4.3 step 6): the documents that govern it are every
 * document pointing to it and its securityContext document; it is visible
 * only where all of them are. Governed by no document, a Binary follows its
 * securityContext patient's health profile; else only its submitter sees it.
 * (A securityContext Patient/X beside documents adds nothing: each document
 * is X's, seen by fewer than X's health profile, its authors aside.)
 */
function followDocuments(row: RowFacts, world: AccessWorld, documentDecision: (d: RowFacts) => Decision, profileDecision: (patientId: string) => Decision): Decision {
  const linking = world.linkingDocuments(row.resourceType, row.id);
  const hidden = linking.find((document) => !documentDecision(document).allow);
  if (hidden) return deny(`follows DocumentReference/${hidden.id}, not visible`);
  if (row.context?.type === 'DocumentReference') {
    const document = world.document(row.context.id);
    return document && documentDecision(document).allow ? allow(linking.length > 0 ? 'follows its documents and securityContext' : 'follows its securityContext document') : deny('securityContext document not visible');
  }
  if (linking.length > 0) return allow('follows its documents');
  if (row.context?.type === 'Patient') return profileDecision(row.context.id);
  return deny('attachment of no document, not submitted by the caller');
}

function decideForPractitioner(caller: PractitionerCaller, row: RowFacts, world: AccessWorld, context: DecisionContext): Decision {
  const me = submitterOf(caller);
  const ruleClass = ruleClassOf(row.resourceType, context.inCompartment);
  if (ruleClass === 'shared') return allow('shared data');
  if (ruleClass === 'audit') return readsHistoryOf(caller, row.patientId) ? allow('own activity history') : deny(HISTORY_FORBIDDEN);
  if (ruleClass === 'attachment') {
    const hasPatient = world.linkingDocuments(row.resourceType, row.id).length > 0 || row.context?.type === 'DocumentReference' || row.context?.type === 'Patient';
    if (!hasPatient) return row.createdBy === me ? allow('own upload, about no patient') : deny('attachment of no document');
    return followDocuments(row, world, (document) => decideForPractitioner(caller, document, world, context), (patientId) => {
      const entry = spaceEntry(caller, world.rulesOf(patientId));
      return entry.space ? allow('health profile') : deny(entry.reason);
    });
  }
  if (row.patientId === null) return row.createdBy === me ? allow('own submission, about no patient') : deny('about no patient');
  const rules = world.rulesOf(row.patientId);
  const entry = spaceEntry(caller, rules);
  const takesPart = row.parties.includes(me);
  switch (ruleClass) {
    case 'record':
      return entry.space ? allow('health profile') : deny(entry.reason);
    case 'immunization':
      if (entry.space) return allow('health profile');
      return entry.own && takesPart ? allow('performed or recorded by P') : deny(entry.reason);
    case 'participation':
    case 'consent':
      if (!entry.own) return deny(entry.reason);
      return takesPart ? allow('P takes part') : deny('P does not take part');
    case 'document':
      return decideDocument(caller, row, rules, entry, context.grid);
  }
}

/** Step 3 for a DocumentReference (its Binary follows it). */
function decideDocument(caller: PractitionerCaller, document: RowFacts, rules: readonly ConsentRule[], entry: SpaceEntry, grid: AuthorizationGrid): Decision {
  if (!entry.own) return deny(entry.reason);
  const me = `Practitioner/${caller.practitionerId}`;
  const administrator = administeredBy(rules, me);
  if (hidesAll(rules) && !administrator) return deny('hide-all: only administrators see the documents');
  if (document.parties.includes(me)) return allow('author');
  if (!entry.space) return deny(entry.reason);
  if (!grid.allows(professionsOf(caller), document.typeKeys)) return deny('the grid does not allow this document type for this profession');
  if (hiddenFrom(document, rules, actorsCovering(caller)) && !administrator) {
    const emergency = purposeOf(caller) !== 'TREAT';
    if (!(emergency && maskedPermitted(rules))) return deny('hiddenFrom: the document is hidden');
  }
  return allow('document under the grid');
}
