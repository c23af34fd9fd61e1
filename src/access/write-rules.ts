/**
 * Who may write what (CONTRACT §3 and the end of §4.3), for checkWrite:
 * AuditEvent never (405); the directory and reference data by system
 * clients only; documents and attachments submitted without authorization
 * unless blocked; health data by the patient, by a practitioner passing
 * steps 1–2, by system clients within their scopes — submitted only to a
 * Patient that exists and whose space is open (one 422 for both);
 * updates and deletes by the author or submitter only (checked first), with
 * the patient's visibility levers; the choices of §4.2 (consent-writes.ts);
 * links that never widen a Binary's audience — attachments and a Binary's
 * securityContext name only what the submitter may see (attachment-writes.ts).
 * Never lets a write through that a rule refuses.
 */
import type { DocumentReference, Resource } from 'fhir/r4';
import { forbidden, notAllowed, unprocessable } from '../kernel/errors';
import type { Validator, WriteKind } from '../kernel/ports';
import type { RowPredicate } from '../kernel/predicate';
import type { Caller, PractitionerCaller } from '../kernel/caller';
import { submitterOf } from '../kernel/caller';
import type { StoredResource } from '../store/resources';
import type { AccessHistory } from './access-history';
import { checkAttachmentLinks, checkSecurityContext } from './attachment-writes';
import { checkChoiceWrite, checkConsentShape } from './consent-writes';
import { spaceEntry } from './decision';
import { checkAuthors, checkIrreversibleLabel, checkVisibilityOnlyUpdate, documentWriteRight } from './document-writes';
import { partyReferences, practitionersOf, roleIdsOf, securityContextOf } from './facts';
import type { AccessFactsReader } from './facts-reader';
import { ruleClassOf, type RuleClass } from './vocabulary';

/** Account states (§7) as the rules need them; until accounts exist, every Patient's space is open. */
export interface PatientSpaces {
  /** May documents be submitted to X's space (state open or active, or a Patient created directly)? */
  isOpen(patientId: string): Promise<boolean>;
}

export const everySpaceOpen: PatientSpaces = { isOpen: async () => true };

export interface WriteRulesDeps {
  compartment: { has(resourceType: string): boolean };
  facts: AccessFactsReader;
  accessHistory: AccessHistory;
  spaces: PatientSpaces;
  /** Checks the consent-kind profiles; without it only the kind itself is checked. */
  validator?: Validator;
  /** The server's FHIR base: references absolute on it are local (kernel/reference.ts). */
  baseUrl?: string;
  /** The caller's access predicate for a type: what the submitter may already see (attachment-writes.ts). */
  readable: (resourceType: string) => RowPredicate;
  /** The closed spaces alone for a type (sql.ts compileOpen). */
  open: (resourceType: string) => RowPredicate;
}

interface Write {
  caller: Caller;
  kind: WriteKind;
  type: string;
  ruleClass: RuleClass;
  resource: Resource | null;
  current: StoredResource | undefined;
  /** The current version when it is not deleted (an update or delete, not a create). */
  live: StoredResource | undefined;
  patientIds: string[];
}

export async function checkWriteRules(caller: Caller, kind: WriteKind, resource: Resource | null, current: StoredResource | undefined, patientIds: string[], given: WriteRulesDeps): Promise<void> {
  const deps = caller.kind === 'practitioner' ? { ...given, facts: given.facts.forOneCheck() } : given; // a practitioner's check asks both
  const type = resource?.resourceType ?? current?.resourceType ?? '';
  if (type === 'AuditEvent') throw notAllowed('AuditEvent is written by the server only');
  if (resource) checkConsentShape(resource, deps.validator);
  const live = current && !current.deleted ? current : undefined;
  const write: Write = { caller, kind, type, ruleClass: ruleClassOf(type, (t) => deps.compartment.has(t)), resource, current, live, patientIds };
  await checkCallerRules(write, deps);
  await requireOpenSpaces(write, deps);
}

function checkCallerRules(write: Write, deps: WriteRulesDeps): Promise<void> {
  const caller = write.caller;
  switch (caller.kind) {
    case 'system':
      return systemWrite(write, deps);
    case 'patient':
    case 'related-person':
      return patientWrite(write, caller, deps);
    case 'practitioner':
      return practitionerWrite(write, caller, deps);
  }
}

/** One answer for a Patient that does not exist, was deleted, or whose space is not open: nothing tells them apart. */
async function requireOpen(patientIds: readonly string[], deps: WriteRulesDeps, expression: string): Promise<void> {
  for (const patientId of patientIds) {
    const open = (await deps.facts.patientExists(patientId)) && (await deps.spaces.isOpen(patientId));
    if (!open) throw unprocessable(`Patient/${patientId} has no space open to submissions`, expression);
  }
}

/** Patient data a submission brings into a space (attachments: through their securityContext, below). */
const SUBMITTED: readonly RuleClass[] = ['document', 'immunization', 'participation', 'record'];

/**
 * A write bringing data into patient X's space — a create, or an update naming a patient the row
 * did not belong to — needs X to exist and X's space to be open (§4.3 Writes, §7): documents
 * whoever writes them, other health data from practitioners and system clients. Checked after the
 * caller's rules, which answer alike whether X exists or not.
 */
async function requireOpenSpaces(write: Write, deps: WriteRulesDeps): Promise<void> {
  const resource = write.resource;
  if (!resource || write.type === 'Patient' || !SUBMITTED.includes(write.ruleClass)) return;
  if (write.ruleClass !== 'document' && (write.caller.kind === 'patient' || write.caller.kind === 'related-person')) return;
  for (const patientId of write.patientIds) {
    if (patientId !== write.live?.patientId) await requireOpen([patientId], deps, elementNaming(resource, patientId));
  }
}

/** The element of `resource` naming Patient/X (`DocumentReference.subject`), for a 422's expression. */
function elementNaming(resource: Resource, patientId: string): string {
  const naming = new RegExp(`Patient/${patientId.replace(/[.-]/g, '\\$&')}(/_history/[^"]*)?"`);
  const elements = resource as unknown as Record<string, unknown>;
  const name = Object.keys(elements).find((key) => key !== 'id' && naming.test(JSON.stringify(elements[key])));
  return name ? `${resource.resourceType}.${name}` : resource.resourceType;
}

/** The patient a Binary is about, through its securityContext (which must name nothing hidden from its submitter). */
async function attachmentPatient(write: Write, deps: WriteRulesDeps): Promise<string | undefined> {
  const resource = write.resource;
  if (resource) await checkSecurityContext(write.caller, resource, write.live?.content, deps);
  const context = securityContextOf(resource, deps.baseUrl);
  if (context?.type === 'Patient') return context.id;
  if (context?.type === 'DocumentReference') return (await deps.facts.documentById(context.id))?.patientId ?? undefined;
  return undefined;
}

async function documentRules(write: Write, deps: WriteRulesDeps): Promise<void> {
  const state = write.current ? await deps.facts.documentByRid(write.current.rid) : undefined;
  const right = write.live ? documentWriteRight(write.caller, write.resource, write.live, state) : 'author';
  if (write.resource) checkIrreversibleLabel(write.resource as DocumentReference, state);
  if (write.resource && write.live && right === 'visibility') checkVisibilityOnlyUpdate(write.caller, write.resource as DocumentReference, write.live.content as DocumentReference);
  if (write.resource && right === 'author') await checkAuthors(write.caller, write.resource as DocumentReference, deps.facts, deps.baseUrl);
  if (write.resource) await checkAttachmentLinks(write.caller, write.resource as DocumentReference, write.live?.content, deps);
}

async function systemWrite(write: Write, deps: WriteRulesDeps): Promise<void> {
  if (await checkChoiceWrite(write.caller, write.resource, write.current, deps)) return;
  const me = submitterOf(write.caller);
  if (write.live && write.live.createdBy !== me && !(write.caller.kind === 'system' && write.caller.operator && write.ruleClass === 'shared')) {
    throw forbidden(`${write.type}/${write.live.id} was created by another client`);
  }
  if (write.ruleClass === 'document') await documentRules(write, deps);
  if (write.ruleClass === 'attachment') {
    const patient = await attachmentPatient(write, deps);
    if (patient && !write.live) await requireOpen([patient], deps, 'Binary.securityContext');
  }
}

async function patientWrite(write: Write, caller: Caller & { patientId: string }, deps: WriteRulesDeps): Promise<void> {
  const me = submitterOf(caller);
  if (write.ruleClass === 'shared') throw forbidden(`${write.type} is shared data, written by the directory feeds`);
  if (write.ruleClass === 'attachment') {
    if (write.live && write.live.createdBy !== me) throw forbidden(`only its submitter changes ${write.type}/${write.live.id}`);
    const patient = await attachmentPatient(write, deps);
    if (patient !== undefined && patient !== caller.patientId) throw forbidden('a patient writes only attachments of their own space');
    return;
  }
  if (write.current && write.current.patientId !== caller.patientId) throw forbidden(`${write.type}/${write.current.id} belongs to another patient`);
  if (write.resource && !(write.patientIds.length > 0 && write.patientIds.every((id) => id === caller.patientId))) throw forbidden('a patient writes only resources of their own compartment');
  if (await checkChoiceWrite(caller, write.resource, write.current, deps)) return;
  if (write.ruleClass === 'document') await documentRules(write, deps);
  if (write.ruleClass === 'immunization' && write.live?.createdBy.startsWith('Practitioner/')) {
    throw forbidden('an Immunization a practitioner recorded cannot be changed or deleted by the patient');
  }
}

async function practitionerWrite(write: Write, caller: PractitionerCaller, deps: WriteRulesDeps): Promise<void> {
  const me = submitterOf(caller);
  if (write.ruleClass === 'shared') throw forbidden(`${write.type} is shared data, written by the directory feeds`);
  if (write.ruleClass === 'attachment') {
    if (write.live && write.live.createdBy !== me) throw forbidden(`only its submitter changes ${write.type}/${write.live.id}`);
    const patient = await attachmentPatient(write, deps);
    if (patient) {
      const entry = spaceEntry(caller, await deps.facts.rulesOf(patient));
      if (!entry.own) throw forbidden(entry.reason);
      if (!write.live) await requireOpen([patient], deps, 'Binary.securityContext');
    }
    return;
  }
  const patients = [...new Set([...write.patientIds, ...(write.current?.patientId ? [write.current.patientId] : [])])];
  if (patients.length === 0) {
    if (write.live && write.live.createdBy !== me) throw forbidden(`${write.type}/${write.live.id} was submitted by someone else`);
    return;
  }
  if (await checkChoiceWrite(caller, write.resource, write.current, deps)) return;
  const entries = await Promise.all(patients.map(async (patientId) => spaceEntry(caller, await deps.facts.rulesOf(patientId))));
  const refused = (needSpace: boolean) => entries.find((entry) => !(needSpace ? entry.space : entry.own));
  const requireEntry = (needSpace: boolean) => {
    const entry = refused(needSpace);
    if (entry) throw forbidden(entry.reason);
  };
  switch (write.ruleClass) {
    case 'document':
      requireEntry(false);
      return documentRules(write, deps);
    case 'immunization':
      requireEntry(true);
      if (write.live && write.live.createdBy !== me && !(await takesPart(write.live.content, me, deps))) throw forbidden('a practitioner changes only Immunizations they recorded or performed');
      return;
    case 'participation':
      requireEntry(false);
      if (write.resource && !(await takesPart(write.resource, me, deps))) throw forbidden(`the practitioner must take part in the ${write.type}`);
      if (write.live && !(await takesPart(write.live.content, me, deps))) throw forbidden(`the practitioner does not take part in ${write.type}/${write.live.id}`);
      return;
    default:
      if (write.type === 'Patient' || write.type === 'RelatedPerson') throw forbidden(`${write.type} is written by the patient (or the enrolment), not by practitioners`);
      requireEntry(true);
      if (write.live && write.live.createdBy !== me) throw forbidden('a practitioner updates or deletes only what they recorded');
  }
}

async function takesPart(resource: Resource | null, me: string, deps: WriteRulesDeps): Promise<boolean> {
  if (!resource) return false;
  const references = partyReferences(resource);
  const owners = await deps.facts.roleOwners(roleIdsOf(references));
  return practitionersOf(references, owners).includes(me);
}
