/**
 * Writes of the patient's choices (CONTRACT §4.2): every Consent carrying a
 * consent-kind category matches its kind's profile (422 with the element
 * expression); who may create or withdraw each kind (403 otherwise); the
 * administrator precondition (a past successful access, else 422) and the
 * MASKED rule (a MASKED permit while both ETREAT and BTG are denied: 422).
 * Never lets a caller change a choice the table does not give them.
 */
import type { Consent, Resource } from 'fhir/r4';
import { FhirError, forbidden, unprocessable } from '../kernel/errors';
import type { Validator } from '../kernel/ports';
import type { Caller, PractitionerCaller } from '../kernel/caller';
import { localReference } from '../kernel/reference';
import type { StoredResource } from '../store/resources';
import type { AccessHistory } from './access-history';
import { actorsCovering, administeredBy, blockedBy, emergencyDenied, NO_ACTIVE_ROLE } from './decision';
import { consentKindOf, consentKindsOf, consentRulesOf, type ConsentRule } from './facts';
import type { AccessFactsReader } from './facts-reader';
import { consentProfileUrl, isConsentKind, type ConsentKind } from './vocabulary';

/** The consent-kind profile a Consent must match (for the validator: `validate(resource, { profiles })`). */
export function consentKindProfiles(resource: Resource): string[] {
  if (resource.resourceType !== 'Consent') return [];
  const kinds = consentKindsOf(resource as Consent);
  return kinds.length === 1 && isConsentKind(kinds[0]) ? [consentProfileUrl(kinds[0])] : [];
}

/** 422 unless a Consent with a consent-kind category names one known kind and matches its profile. */
export function checkConsentShape(resource: Resource, validator: Validator | undefined): void {
  if (resource.resourceType !== 'Consent') return;
  const kinds = consentKindsOf(resource as Consent);
  if (kinds.length === 0) return;
  if (kinds.length > 1) throw unprocessable('a Carnet choice names exactly one consent kind', 'Consent.category');
  if (!isConsentKind(kinds[0])) throw unprocessable(`unknown consent kind "${kinds[0].slice(0, 40)}"`, 'Consent.category');
  if (!validator) return;
  const errors = validator.validate(resource, { profiles: [consentProfileUrl(kinds[0])] }).filter((issue) => issue.severity === undefined || issue.severity === 'error' || issue.severity === 'fatal');
  if (errors.length > 0) throw FhirError.withIssues(422, errors);
}

export interface ConsentWriteDeps {
  facts: AccessFactsReader;
  accessHistory: AccessHistory;
  /** The server's FHIR base: a reference absolute on it is read as the indexer reads it (kernel/reference.ts). */
  baseUrl?: string;
}

interface Choice {
  kind: ConsentKind;
  consent: Consent;
  patientId: string;
}

function choiceOf(resource: Resource | null | undefined, baseUrl: string | undefined): Choice | undefined {
  if (resource?.resourceType !== 'Consent') return undefined;
  const consent = resource as Consent;
  const kind = consentKindOf(consent);
  const patient = localReference(consent.patient?.reference, baseUrl);
  return kind && patient?.type === 'Patient' ? { kind, consent, patientId: patient.id } : undefined;
}

/**
 * Checks a write touching a choice (the new version, the current one, or
 * both); returns false when neither is a choice (ordinary data rules apply).
 */
export async function checkChoiceWrite(caller: Caller, resource: Resource | null, current: StoredResource | undefined, deps: ConsentWriteDeps): Promise<boolean> {
  const next = choiceOf(resource, deps.baseUrl);
  const previous = current && !current.deleted ? choiceOf(current.content, deps.baseUrl) : undefined;
  if (!next && !previous) return false;
  if (caller.kind === 'system') throw forbidden('a patient\'s choices are made by the patient, a legal representative or a practitioner (CONTRACT §4.2), not by a system client');
  if (previous) await requireManager(caller, previous, deps, 'withdraw');
  if (next) {
    await requireManager(caller, next, deps, 'create');
    if (next.consent.status === 'active') await checkInForce(next, current, deps);
  }
  return true;
}

/** The "may create or withdraw it" column of §4.2. */
async function requireManager(caller: Caller, choice: Choice, deps: ConsentWriteDeps, verb: 'create' | 'withdraw'): Promise<void> {
  const what = `${verb} a ${choice.kind} choice of Patient/${choice.patientId}`;
  switch (caller.kind) {
    case 'patient':
      if (caller.patientId !== choice.patientId) throw forbidden(`only the patient or their representatives may ${what}`);
      return;
    case 'related-person':
      if (caller.patientId !== choice.patientId) throw forbidden(`only the patient or their representatives may ${what}`);
      if (choice.kind === 'administrator') throw forbidden('only the patient chooses an administrator');
      if (choice.kind === 'hide-document') throw forbidden('a document is hidden by the patient, its author or an administrator');
      return;
    case 'practitioner':
      return requirePractitionerManager(caller, choice, deps, what);
    case 'system':
      throw forbidden(`a system client may not ${what}`);
  }
}

async function requirePractitionerManager(caller: PractitionerCaller, choice: Choice, deps: ConsentWriteDeps, what: string): Promise<void> {
  if (caller.roles.length === 0) throw forbidden(`${NO_ACTIVE_ROLE}: it may not ${what}`);
  const rules = await deps.facts.rulesOf(choice.patientId);
  const me = `Practitioner/${caller.practitionerId}`;
  if (blockedBy(rules, actorsCovering(caller))) throw forbidden(`blockedBy: Patient/${choice.patientId} blocked this practitioner`);
  const administrator = administeredBy(rules, me);
  switch (choice.kind) {
    case 'authorize': {
      const owners = await deps.facts.roleOwners(roleIdsOfActors(choice.consent, deps.baseUrl));
      const actors = consentRulesOf({ ...choice.consent, status: 'active' }, owners, deps.baseUrl).map((rule) => rule.actor);
      if (actors.length > 0 && actors.every((actor) => actor === me)) return; // P itself, attesting X's agreement
      throw forbidden(`a practitioner may only ${what} naming themself`);
    }
    case 'block':
      if (administrator) return;
      throw forbidden(`only the patient, a legal representative or an administrator may ${what}`);
    case 'hide-document': {
      if (administrator) return;
      const documents = (choice.consent.provision?.data ?? []).map((data) => localReference(data.reference?.reference, deps.baseUrl)?.id);
      for (const id of documents) {
        const document = id ? await deps.facts.documentById(id) : undefined;
        if (!document || document.patientId !== choice.patientId || !document.parties.includes(me)) {
          throw forbidden(`only the patient, an administrator or the document's author may ${what}`);
        }
      }
      if (documents.length === 0) throw forbidden(`only the patient, an administrator or the document's author may ${what}`);
      return;
    }
    case 'hide-all':
    case 'emergency':
    case 'administrator':
      throw forbidden(`only the patient${choice.kind === 'administrator' ? '' : ' or a legal representative'} may ${what}`);
  }
}

function roleIdsOfActors(consent: Consent, baseUrl: string | undefined): string[] {
  return (consent.provision?.actor ?? []).flatMap((actor) => {
    const parsed = localReference(actor.reference?.reference, baseUrl);
    return parsed?.type === 'PractitionerRole' ? [parsed.id] : [];
  });
}

/** Rules checked when a choice comes into force: the administrator precondition and MASKED. */
async function checkInForce(choice: Choice, current: StoredResource | undefined, deps: ConsentWriteDeps): Promise<void> {
  const owners = await deps.facts.roleOwners(roleIdsOfActors(choice.consent, deps.baseUrl));
  const rules = consentRulesOf(choice.consent, owners, deps.baseUrl);
  if (choice.kind === 'administrator') {
    const administrator = rules[0]?.actor?.replace(/^Practitioner\//, '');
    if (!administrator || !(await deps.accessHistory.hasAccessed(administrator, choice.patientId))) {
      throw unprocessable(`Practitioner/${administrator ?? '?'} has never accessed this patient's space: an administrator must have accessed it before`, 'Consent.provision.actor[0].reference');
    }
  }
  if (choice.kind === 'emergency' && rules.some((rule) => rule.purpose === 'MASKED' && rule.effect === 'permit')) {
    const others = await deps.facts.rulesOf(choice.patientId, current?.rid);
    const all: ConsentRule[] = [...others, ...rules];
    if (emergencyDenied(all, 'ETREAT') && emergencyDenied(all, 'BTG')) {
      throw unprocessable('MASKED cannot be permitted while both ETREAT and BTG are denied', 'Consent.provision.purpose');
    }
  }
}
