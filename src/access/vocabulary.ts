/**
 * The words of the access rules: code systems, codes and names shared by the
 * decision, its SQL form, the indexer and the write rules (CONTRACT §4).
 * Owns constants only; decides nothing.
 */

export const CARNET = 'https://carnet.example.org/fhir';
export const CONSENT_KIND_SYSTEM = `${CARNET}/CodeSystem/consent-kind`;
export const CARNET_PURPOSE_SYSTEM = `${CARNET}/CodeSystem/purpose`;
export const CARNET_ROLE_SYSTEM = `${CARNET}/CodeSystem/role`;
export const CONSENT_PROFILE_BASE = `${CARNET}/StructureDefinition/carnet-consent-`;

export const LOINC = 'http://loinc.org';
export const CONSENT_DOCUMENT_LOINC = '59284-0';
export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const PARTICIPATION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

/** TRE_A07, as the contract spells it and as some ANS guides spell it ("Status"). */
export const VISIBILITY_SYSTEMS: readonly string[] = [
  'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument',
  'https://mos.esante.gouv.fr/NOS/TRE_A07-StatusVisibiliteDocument/FHIR/TRE-A07-StatusVisibiliteDocument',
];

/** Document visibility labels (TRE_A07). */
export const MASQUE_PS = 'MASQUE_PS';
export const INVISIBLE_PATIENT = 'INVISIBLE_PATIENT';
export const INVISIBLE_REPRESENTANTS_LEGAUX = 'INVISIBLE_REPRESENTANTS_LEGAUX';
export const VISIBILITY_LABELS: readonly string[] = [MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX];

export const CONSENT_KINDS = ['authorize', 'block', 'hide-document', 'hide-all', 'emergency', 'administrator'] as const;
export type ConsentKind = (typeof CONSENT_KINDS)[number];

export const PURPOSES_OF_USE = ['TREAT', 'ETREAT', 'BTG'] as const;
export type PurposeOfUse = (typeof PURPOSES_OF_USE)[number];

/** Purposes an emergency consent permits or denies. */
export const EMERGENCY_PURPOSES = ['ETREAT', 'BTG', 'MASKED'] as const;
export type EmergencyPurpose = (typeof EMERGENCY_PURPOSES)[number];

export function isConsentKind(code: unknown): code is ConsentKind {
  return typeof code === 'string' && (CONSENT_KINDS as readonly string[]).includes(code);
}

export function consentProfileUrl(kind: ConsentKind): string {
  return `${CONSENT_PROFILE_BASE}${kind}`;
}

/**
 * How the rules treat each resource type (CONTRACT §2, §4.3 steps 3–4):
 * - document: DocumentReference (grid, hiding, labels);
 * - attachment: Binary (and a stored Bundle) follow the DocumentReference whose attachment points to them;
 * - immunization: health data, plus what P performed;
 * - participation: Appointment, Communication — only where P takes part;
 * - consent: only those P performed;
 * - audit: AuditEvent — the patient's own activity history;
 * - record: Patient, RelatedPerson and every other Patient-compartment type (the health profile);
 * - shared: everything else (directory, reference data).
 */
export type RuleClass = 'document' | 'attachment' | 'immunization' | 'participation' | 'consent' | 'audit' | 'record' | 'shared';

const SPECIAL: Record<string, RuleClass> = {
  DocumentReference: 'document',
  Binary: 'attachment',
  Bundle: 'attachment',
  Immunization: 'immunization',
  Appointment: 'participation',
  Communication: 'participation',
  Consent: 'consent',
  AuditEvent: 'audit',
};

/** Types whose access facts (parties, grid keys, labels, context) the indexer keeps. */
export const FACT_TYPES: readonly string[] = Object.keys(SPECIAL).filter((type) => type !== 'AuditEvent');

export function ruleClassOf(resourceType: string, inCompartment: (type: string) => boolean): RuleClass {
  return SPECIAL[resourceType] ?? (inCompartment(resourceType) ? 'record' : 'shared');
}

/**
 * Patient data (CONTRACT §2): every type the rules do not treat as shared — the Patient, its
 * compartment, Binary and stored Bundles. It gets server-assigned ids only (no create-on-update).
 */
export function isPatientData(resourceType: string, inCompartment: (type: string) => boolean): boolean {
  return ruleClassOf(resourceType, inCompartment) !== 'shared';
}
