/**
 * The patient's choices as CONTRACT §4.2 shapes them: one Consent per choice, with its
 * consent-kind category (the same shape as test/access/builders.ts `choice()`), read back
 * from the space's active Consents, and withdrawn by setting `status` to inactive.
 * Pure data and the few requests that write it; no screen.
 */
import type { Consent, Practitioner, PractitionerRole, Reference, DocumentReference } from 'fhir/r4';
import { fhirWrite, searchAll } from './api';
import { professionLabel } from './i18n';

export type Kind = 'authorize' | 'block' | 'hide-document' | 'hide-all' | 'emergency' | 'administrator';
export type Purpose = 'ETREAT' | 'BTG' | 'MASKED';

export const KIND_SYSTEM = 'https://carnet.example.org/fhir/CodeSystem/consent-kind';
const PURPOSE_SYSTEM = 'https://carnet.example.org/fhir/CodeSystem/purpose';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const ROLE_SYSTEM = 'https://carnet.example.org/fhir/CodeSystem/role';
export const A07 = 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument';
export const G15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
export const RPPS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';

export interface ChoiceInput {
  kind: Kind;
  effect: 'permit' | 'deny';
  actors?: string[];
  documents?: string[];
  purposes?: Purpose[];
}

/** A Consent of `kind` for patient `patientId`, made by `performer` (the fhirUser of the session). */
export function buildChoice(patientId: string, performer: string, input: ChoiceInput): Consent {
  const provision: NonNullable<Consent['provision']> = { type: input.effect };
  const role =
    input.kind === 'administrator'
      ? { coding: [{ system: ROLE_SYSTEM, code: 'administrator' }] }
      : { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };
  if (input.actors?.length) provision.actor = input.actors.map((reference) => ({ role, reference: { reference } }));
  if (input.documents?.length) provision.data = input.documents.map((id) => ({ meaning: 'instance', reference: { reference: `DocumentReference/${id}` } }));
  if (input.purposes?.length) provision.purpose = input.purposes.map((code) => (code === 'MASKED' ? { system: PURPOSE_SYSTEM, code } : { system: ACT_REASON, code }));
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }, { coding: [{ system: KIND_SYSTEM, code: input.kind }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: new Date().toISOString(),
    performer: [{ reference: performer }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: input.effect === 'permit' ? 'OPTIN' : 'OPTOUT' }] },
    provision,
  };
}

export const kindOf = (consent: Consent): Kind | undefined =>
  consent.category?.flatMap((category) => category.coding ?? []).find((coding) => coding.system === KIND_SYSTEM)?.code as Kind | undefined;

export const actorsOf = (consent: Consent): string[] => (consent.provision?.actor ?? []).map((actor) => actor.reference.reference ?? '').filter(Boolean);

export const documentsOf = (consent: Consent): string[] =>
  (consent.provision?.data ?? []).map((data) => data.reference.reference?.replace(/^.*DocumentReference\//, '') ?? '').filter(Boolean);

export const purposesOf = (consent: Consent): Purpose[] => (consent.provision?.purpose ?? []).map((coding) => coding.code as Purpose);

/** The space's choices in force (status active), each with its kind. */
export async function activeChoices(patientId: string): Promise<Consent[]> {
  const { resources } = await searchAll<Consent>(`Consent?patient=Patient/${patientId}&status=active&_count=200`);
  return resources.filter((consent) => consent.status === 'active' && kindOf(consent));
}

export const create = (patientId: string, performer: string, input: ChoiceInput) => fhirWrite('POST', 'Consent', buildChoice(patientId, performer, input));

/** §4.2: a choice is withdrawn by setting its status to inactive (its history stays). */
export const withdraw = (consent: Consent) => fhirWrite('PUT', `Consent/${consent.id}`, { ...consent, status: 'inactive' });

/** "Dr Anne Martin" from a Practitioner's first name. */
export function nameOf(practitioner: Practitioner | undefined, fallback = ''): string {
  const name = practitioner?.name?.[0];
  if (!name) return fallback;
  if (name.text) return name.text;
  return [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean).join(' ') || fallback;
}

export const rppsOf = (practitioner: Practitioner | undefined) => practitioner?.identifier?.find((identifier) => identifier.system === RPPS_SYSTEM)?.value;

/** The TRE_G15 professions of a practitioner's active roles, in words. */
export const professionsOf = (roles: PractitionerRole[]) =>
  [...new Set(roles.filter((role) => role.active !== false).flatMap((role) => (role.code ?? []).flatMap((code) => code.coding ?? []).filter((coding) => coding.system === G15).map((coding) => professionLabel(coding.code ?? '', coding.display))))];

/** The directory's Practitioners named in `references`, by reference, with their roles. */
export async function directory(references: string[]): Promise<Map<string, { practitioner?: Practitioner; roles: PractitionerRole[] }>> {
  const ids = [...new Set(references.filter((reference) => reference.startsWith('Practitioner/')).map((reference) => reference.slice('Practitioner/'.length)))];
  const found = new Map<string, { practitioner?: Practitioner; roles: PractitionerRole[] }>();
  for (const id of ids) found.set(`Practitioner/${id}`, { roles: [] });
  if (ids.length === 0) return found;
  const { resources, included } = await searchAll<Practitioner>(`Practitioner?_id=${ids.map(encodeURIComponent).join(',')}&_revinclude=PractitionerRole:practitioner&_count=200`);
  for (const practitioner of resources) found.set(`Practitioner/${practitioner.id}`, { practitioner, roles: [] });
  for (const role of included as PractitionerRole[]) {
    if (role.resourceType !== 'PractitionerRole') continue;
    found.get(role.practitioner?.reference ?? '')?.roles.push(role);
  }
  return found;
}

/** Is document D hidden by its author's TRE_A07 label? */
export const maskedByLabel = (document: DocumentReference) =>
  (document.securityLabel ?? []).some((label) => (label.coding ?? []).some((coding) => coding.system === A07 && coding.code === 'MASQUE_PS'));

export const refText = (reference: Reference | undefined) => reference?.display ?? reference?.reference ?? '';
