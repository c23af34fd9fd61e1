/**
 * The facts the access rules read, extracted from resources by pure
 * functions: who takes part in a resource (authors, performers,
 * participants), a document's grid keys and visibility labels, the
 * attachments a document points to, a Binary's securityContext, and the
 * rules an active Consent puts in force. The decision (decision.ts) reads
 * these facts in memory; the indexer (indexer.ts) writes the same facts to
 * the tables the SQL form (sql.ts) reads. References are read with the one
 * parser (kernel/reference.ts): given `baseUrl` (the server's FHIR base), an
 * absolute reference on it is the same link as a relative one. Never touches
 * the database.
 */
import type { Consent, DocumentReference, FhirResource, Reference, Resource } from 'fhir/r4';
import { localReference } from '../kernel/reference';
import type { AuthorizationGrid } from './grid';
import {
  ACT_REASON_SYSTEM,
  CARNET_PURPOSE_SYSTEM,
  CONSENT_KIND_SYSTEM,
  isConsentKind,
  VISIBILITY_LABELS,
  VISIBILITY_SYSTEMS,
  type ConsentKind,
  type EmergencyPurpose,
} from './vocabulary';

/** What the rules know of one stored row (current or a version of it). */
export interface RowFacts {
  resourceType: string;
  id: string;
  patientId: string | null;
  /** The submitter recorded by the store: `Practitioner/P`, `Patient/X`, `client:c`… */
  createdBy: string;
  /** `Practitioner/P` refs taking part (authors, performers, participants, roles resolved) and the submitter. */
  parties: string[];
  /** DocumentReference: grid keys of every version it has had (a version never shows more than the strictest). */
  typeKeys: string[];
  /** DocumentReference: TRE_A07 visibility labels of the current version. */
  labels: string[];
  /** Binary: its securityContext, when it names a resource. */
  context: { type: string; id: string } | null;
}

/** One rule an active consent-kind Consent puts in force (one per actor, document or purpose). */
export interface ConsentRule {
  patientId: string;
  kind: ConsentKind;
  effect: 'permit' | 'deny';
  /** `Practitioner/P` or `Organization/O`; null when the kind has no actor (or none is listed). */
  actor: string | null;
  /** hide-document: the DocumentReference id. */
  dataId: string | null;
  /** emergency: ETREAT, BTG or MASKED. */
  purpose: EmergencyPurpose | null;
}

/** `PractitionerRole` id → the practitioner id it belongs to. */
export type RoleOwners = (roleId: string) => string | undefined;

/** `Type/id` of a reference, or undefined when it is not a literal reference to a resource of this server. */
export function referenceKey(reference: Reference | undefined, baseUrl?: string): string | undefined {
  const parsed = localReference(reference?.reference, baseUrl);
  return parsed ? `${parsed.type}/${parsed.id}` : undefined;
}

/** The references of a resource that name who takes part in it, by type (CONTRACT §4.3 steps 2 and 4). */
export function partyReferences(stored: Resource): Reference[] {
  const resource = stored as FhirResource;
  switch (resource.resourceType) {
    case 'DocumentReference':
      return [...(resource.author ?? [])];
    case 'Immunization':
      return (resource.performer ?? []).map((performer) => performer.actor);
    case 'Appointment':
      return (resource.participant ?? []).flatMap((participant) => (participant.actor ? [participant.actor] : []));
    case 'Communication':
      return [...(resource.sender ? [resource.sender] : []), ...(resource.recipient ?? [])];
    case 'Consent':
      return [...(resource.performer ?? [])];
    default:
      return [];
  }
}

/** PractitionerRole ids a resource's party references name (the indexer resolves them). */
export function roleIdsOf(references: readonly Reference[], baseUrl?: string): string[] {
  return references.flatMap((reference) => {
    const parsed = localReference(reference.reference, baseUrl);
    return parsed?.type === 'PractitionerRole' ? [parsed.id] : [];
  });
}

/** `Practitioner/P` for each reference naming P directly or through one of P's roles. */
export function practitionersOf(references: readonly Reference[], roleOwners: RoleOwners, baseUrl?: string): string[] {
  const found = new Set<string>();
  for (const reference of references) {
    const parsed = localReference(reference.reference, baseUrl);
    if (parsed?.type === 'Practitioner') found.add(`Practitioner/${parsed.id}`);
    if (parsed?.type === 'PractitionerRole') {
      const owner = roleOwners(parsed.id);
      if (owner) found.add(`Practitioner/${owner}`);
    }
  }
  return [...found];
}

/** Parties of a resource: the practitioners it names, plus its submitter (who counts as author when none is named). */
export function partiesOf(resource: Resource | null, createdBy: string, roleOwners: RoleOwners, baseUrl?: string): string[] {
  const parties = resource ? practitionersOf(partyReferences(resource), roleOwners, baseUrl) : [];
  if (!parties.includes(createdBy)) parties.push(createdBy);
  return parties.sort();
}

/** TRE_A07 visibility labels of a document. */
export function visibilityLabels(document: Pick<DocumentReference, 'securityLabel'>): string[] {
  const labels = new Set<string>();
  for (const concept of document.securityLabel ?? []) {
    for (const coding of concept.coding ?? []) {
      if (coding.system && VISIBILITY_SYSTEMS.includes(coding.system) && coding.code && VISIBILITY_LABELS.includes(coding.code)) labels.add(coding.code);
    }
  }
  return [...labels].sort();
}

/** Grid keys of a document (see grid.ts). */
export function documentTypeKeys(document: Pick<DocumentReference, 'type'>, grid: AuthorizationGrid): string[] {
  return grid.keysOf(document.type);
}

/** The types an attachment links (rule class `attachment`). */
export const ATTACHMENT_TYPES: readonly string[] = ['Binary', 'Bundle'];

/** One Binary or Bundle of this server a document's attachments point to, and where it is first named. */
export interface AttachmentTarget {
  type: string;
  id: string;
  /** `DocumentReference.content[i].attachment.url` */
  expression: string;
}

/** Binary and Bundle resources a document's attachments point to, in every form of local reference (relative, absolute on the base, versioned, with a query). */
export function attachmentTargets(document: DocumentReference, baseUrl?: string): AttachmentTarget[] {
  const found = new Map<string, AttachmentTarget>();
  for (const [index, content] of (document.content ?? []).entries()) {
    const parsed = localReference(content.attachment?.url, baseUrl);
    if (!parsed || !ATTACHMENT_TYPES.includes(parsed.type) || found.has(`${parsed.type}/${parsed.id}`)) continue;
    found.set(`${parsed.type}/${parsed.id}`, { type: parsed.type, id: parsed.id, expression: `DocumentReference.content[${index}].attachment.url` });
  }
  return [...found.values()];
}

/** The resource of this server a Binary's securityContext names, if any. */
export function securityContextOf(resource: Resource | null, baseUrl?: string): { type: string; id: string } | null {
  const binary = resource as FhirResource | null;
  if (binary?.resourceType !== 'Binary') return null;
  const parsed = localReference(binary.securityContext?.reference, baseUrl);
  return parsed ? { type: parsed.type, id: parsed.id } : null;
}

/** The consent kinds a Consent's category names (a well-formed choice names exactly one). */
export function consentKindsOf(consent: Pick<Consent, 'category'>): string[] {
  return (consent.category ?? []).flatMap((concept) => (concept.coding ?? []).filter((coding) => coding.system === CONSENT_KIND_SYSTEM).map((coding) => coding.code ?? ''));
}

/** The kind of a Consent when it names exactly one known kind. */
export function consentKindOf(consent: Pick<Consent, 'category'>): ConsentKind | undefined {
  const kinds = consentKindsOf(consent);
  return kinds.length === 1 && isConsentKind(kinds[0]) ? kinds[0] : undefined;
}

function purposesOf(consent: Consent): EmergencyPurpose[] {
  const purposes = new Set<EmergencyPurpose>();
  for (const coding of consent.provision?.purpose ?? []) {
    if (coding.system === ACT_REASON_SYSTEM && (coding.code === 'ETREAT' || coding.code === 'BTG')) purposes.add(coding.code);
    if (coding.system === CARNET_PURPOSE_SYSTEM && coding.code === 'MASKED') purposes.add('MASKED');
  }
  return [...purposes];
}

/** Actors as `Practitioner/P` or `Organization/O` (roles resolved to their practitioner). */
function actorsOf(consent: Consent, roleOwners: RoleOwners, baseUrl?: string): string[] {
  const actors = new Set<string>();
  for (const actor of consent.provision?.actor ?? []) {
    const parsed = localReference(actor.reference?.reference, baseUrl);
    if (parsed?.type === 'Practitioner' || parsed?.type === 'Organization') actors.add(`${parsed.type}/${parsed.id}`);
    if (parsed?.type === 'PractitionerRole') {
      const owner = roleOwners(parsed.id);
      if (owner) actors.add(`Practitioner/${owner}`);
    }
  }
  return [...actors].sort();
}

/**
 * The rules a Consent puts in force: none unless it is active, names exactly
 * one kind, a patient and a provision type (the kind profiles make sure a
 * stored choice has the rest of its shape).
 */
export function consentRulesOf(consent: Consent, roleOwners: RoleOwners, baseUrl?: string): ConsentRule[] {
  const kind = consentKindOf(consent);
  const patient = localReference(consent.patient?.reference, baseUrl);
  const effect = consent.provision?.type;
  if (consent.status !== 'active' || !kind || patient?.type !== 'Patient' || (effect !== 'permit' && effect !== 'deny')) return [];
  const base = { patientId: patient.id, kind, effect, actor: null, dataId: null, purpose: null } satisfies ConsentRule;
  const actors = actorsOf(consent, roleOwners, baseUrl);
  switch (kind) {
    case 'authorize':
    case 'block':
      return actors.map((actor) => ({ ...base, actor }));
    case 'administrator':
      return actors.filter((actor) => actor.startsWith('Practitioner/')).slice(0, 1).map((actor) => ({ ...base, actor }));
    case 'hide-all':
      return [base];
    case 'emergency':
      return purposesOf(consent).map((purpose) => ({ ...base, purpose }));
    case 'hide-document': {
      const documents = (consent.provision?.data ?? []).flatMap((data) => {
        const parsed = localReference(data.reference?.reference, baseUrl);
        return parsed?.type === 'DocumentReference' ? [parsed.id] : [];
      });
      const who: Array<string | null> = actors.length > 0 ? actors : [null];
      return [...new Set(documents)].flatMap((dataId) => who.map((actor) => ({ ...base, dataId, actor })));
    }
  }
}

/** Facts of a row from its content (the store's row facts plus what the content says). */
export function rowFactsOf(
  row: { resourceType: string; id: string; patientId: string | null; createdBy: string; content: Resource | null },
  grid: AuthorizationGrid,
  roleOwners: RoleOwners,
  previousTypeKeys: readonly string[] = [],
  baseUrl?: string,
): RowFacts {
  const content = row.content as FhirResource | null;
  const document = content?.resourceType === 'DocumentReference' ? content : undefined;
  const typeKeys = document ? [...new Set([...previousTypeKeys, ...documentTypeKeys(document, grid)])].sort() : [...previousTypeKeys];
  return {
    resourceType: row.resourceType,
    id: row.id,
    patientId: row.patientId,
    createdBy: row.createdBy,
    parties: partiesOf(content, row.createdBy, roleOwners, baseUrl),
    typeKeys,
    labels: document ? visibilityLabels(document) : [],
    context: securityContextOf(content, baseUrl),
  };
}
