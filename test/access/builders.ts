/**
 * Resources shaped as the contract says (§4.2 choices, documents with TRE_A07
 * labels) and callers as identification makes them (§3), for the access tests.
 * Data only: the server they go to is the one builder, test/support/server.ts.
 */
import type { Consent, DocumentReference, Resource } from 'fhir/r4';
import type { ConsentKind } from '../../src/access/vocabulary';
import type { Caller, PractitionerCaller, PractitionerRoleGrant } from '../../src/kernel/caller';
import { parseScopes } from '../../src/identity/scopes';

export const KIND_SYSTEM = 'https://carnet.example.org/fhir/CodeSystem/consent-kind';
export const A07 = 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument';
const LOINC = 'http://loinc.org';
const IRCP = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };
const ADMINISTRATOR = { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/role', code: 'administrator' }] };

export interface ChoiceOptions {
  id?: string;
  actors?: string[];
  documents?: string[];
  purposes?: Array<'ETREAT' | 'BTG' | 'MASKED'>;
  effect?: 'permit' | 'deny';
  status?: Consent['status'];
  performer?: string;
}

const defaultEffect: Record<ConsentKind, 'permit' | 'deny'> = {
  authorize: 'permit',
  block: 'deny',
  'hide-document': 'deny',
  'hide-all': 'deny',
  emergency: 'deny',
  administrator: 'permit',
};

let counter = 0;

/** A well-formed choice of patient X. */
export function choice(kind: ConsentKind, patientId: string, options: ChoiceOptions = {}): Consent {
  const effect = options.effect ?? defaultEffect[kind];
  const provision: NonNullable<Consent['provision']> = { type: effect };
  if (options.actors?.length) provision.actor = options.actors.map((reference) => ({ role: kind === 'administrator' ? ADMINISTRATOR : IRCP, reference: { reference } }));
  if (options.documents?.length) provision.data = options.documents.map((id) => ({ meaning: 'instance', reference: { reference: `DocumentReference/${id}` } }));
  if (options.purposes?.length) {
    provision.purpose = options.purposes.map((code) =>
      code === 'MASKED' ? { system: 'https://carnet.example.org/fhir/CodeSystem/purpose', code } : { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code },
    );
  }
  return {
    resourceType: 'Consent',
    id: options.id ?? `${kind}-${patientId}-${++counter}`,
    status: options.status ?? 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LOINC, code: '59284-0' }] }, { coding: [{ system: KIND_SYSTEM, code: kind }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: '2026-11-26T10:00:00Z',
    performer: [{ reference: options.performer ?? `Patient/${patientId}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: effect === 'permit' ? 'OPTIN' : 'OPTOUT' }] },
    provision,
  };
}

export interface DocumentOptions {
  type?: string | null; // a LOINC/TRE_A05 code; null for none
  labels?: string[];
  authors?: string[];
  binary?: string;
}

export function documentReference(id: string, patientId: string, options: DocumentOptions = {}): DocumentReference {
  const code = options.type === undefined ? '11488-4' : options.type;
  const system = code && /^\d+-\d$/.test(code) ? LOINC : 'https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire';
  return {
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    ...(code ? { type: { coding: [{ system, code }] } } : {}),
    subject: { reference: `Patient/${patientId}` },
    ...(options.authors?.length ? { author: options.authors.map((reference) => ({ reference })) } : {}),
    ...(options.labels?.length ? { securityLabel: [{ coding: options.labels.map((label) => ({ system: A07, code: label })) }] } : {}),
    content: [{ attachment: { contentType: 'application/pdf', ...(options.binary ? { url: `Binary/${options.binary}` } : {}) } }],
  };
}

export function binary(id: string, securityContext?: string): Resource {
  return { resourceType: 'Binary', id, contentType: 'application/pdf', data: 'SGVsbG8=', ...(securityContext ? { securityContext: { reference: securityContext } } : {}) } as Resource;
}

export const patientResource = (id: string): Resource => ({ resourceType: 'Patient', id, name: [{ family: id }] }) as Resource;

export const observation = (id: string, patientId: string): Resource =>
  ({ resourceType: 'Observation', id, status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${patientId}` } }) as Resource;

export const immunization = (id: string, patientId: string, performer?: string): Resource =>
  ({
    resourceType: 'Immunization',
    id,
    status: 'completed',
    vaccineCode: { text: 'DTP' },
    patient: { reference: `Patient/${patientId}` },
    occurrenceDateTime: '2026-01-01',
    ...(performer ? { performer: [{ actor: { reference: performer } }] } : {}),
  }) as Resource;

export const appointment = (id: string, patientId: string, practitioners: string[]): Resource =>
  ({
    resourceType: 'Appointment',
    id,
    status: 'booked',
    start: '2026-12-01T09:00:00Z',
    end: '2026-12-01T09:30:00Z',
    participant: [{ actor: { reference: `Patient/${patientId}` }, status: 'accepted' }, ...practitioners.map((reference) => ({ actor: { reference }, status: 'accepted' }))],
  }) as Resource;

export const communication = (id: string, patientId: string, sender: string): Resource =>
  ({ resourceType: 'Communication', id, status: 'completed', subject: { reference: `Patient/${patientId}` }, sender: { reference: sender }, recipient: [{ reference: `Patient/${patientId}` }] }) as Resource;

export const auditEvent = (id: string, patientId: string, who: string, outcome = '0'): Resource =>
  ({
    resourceType: 'AuditEvent',
    id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    action: 'R',
    recorded: '2026-11-26T10:00:00Z',
    outcome,
    agent: [{ who: { reference: who }, requestor: true }],
    source: { observer: { display: 'Carnet' } },
    entity: [{ what: { reference: `Patient/${patientId}` } }],
  }) as Resource;

export const TREG15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';

/** Practitioner `id` with one active role per profession (TRE_G15 codes). */
export function practitioner(id: string, professions: string[], options: Partial<PractitionerCaller> & { organization?: string; samu?: boolean } = {}): PractitionerCaller {
  const roles: PractitionerRoleGrant[] = professions.map((profession, i) => ({
    roleId: `${id}-role${i}`,
    professions: [profession],
    specialties: [],
    samuRegulator: options.samu ?? false,
    ...(options.organization ? { organization: `Organization/${options.organization}` } : {}),
  }));
  return { kind: 'practitioner', sub: id, scopes: parseScopes('user/*.*'), practitionerId: id, roles: options.roles ?? roles, purposeOfUse: options.purposeOfUse, breakGlassReason: options.breakGlassReason };
}

export function patient(id: string): Caller {
  return { kind: 'patient', sub: id, scopes: parseScopes('patient/*.*'), patientId: id };
}

export function representative(relatedPersonId: string, patientId: string): Caller {
  return { kind: 'related-person', sub: relatedPersonId, scopes: parseScopes('patient/*.*'), relatedPersonId, patientId };
}

/** System client `clientId` (its writes are recorded as `client:<clientId>`); `system/*.*` makes it an operator. */
export function system(clientId: string, scope = 'system/*.*'): Caller {
  const scopes = parseScopes(scope);
  return { kind: 'system', sub: clientId, scopes, clientId, operator: scope.includes('system/*.*') };
}

/** The PractitionerRole resources matching a practitioner() caller's grants. */
export function roleResources(caller: PractitionerCaller): Resource[] {
  return caller.roles.map((role) => ({
    resourceType: 'PractitionerRole',
    id: role.roleId,
    practitioner: { reference: `Practitioner/${caller.practitionerId}` },
    ...(role.organization ? { organization: { reference: role.organization } } : {}),
    code: [
      ...role.professions.map((code) => ({ coding: [{ system: TREG15, code }] })),
      ...(role.samuRegulator ? [{ coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/role', code: 'samu-regulator' }] }] : []),
    ],
  }) as Resource);
}
