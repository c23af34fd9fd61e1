/**
 * Who is calling: the identity resolved from a verified token, available to
 * every handler. Owns the Caller shape only; verification lives in tokens.ts.
 */

/** One SMART scope, v1 (`read`, `write`, `*`) or v2 (`cruds` letters), normalised. */
export interface Scope {
  context: 'patient' | 'user' | 'system';
  resourceType: string; // a type name or '*'
  interactions: Set<Interaction>;
}

/** c create, r read (and vread, history), u update (and patch), d delete, s search. */
export type Interaction = 'c' | 'r' | 'u' | 'd' | 's';

/** A practitioner's active role, as read from PractitionerRole. */
export interface PractitionerRoleGrant {
  roleId: string;
  professions: string[]; // TRE_G15 codes
  specialties: string[]; // TRE_R38 codes
  samuRegulator: boolean;
  organization?: string; // "Organization/O"
}

interface CallerBase {
  sub: string;
  scopes: Scope[];
}

export interface PatientCaller extends CallerBase {
  kind: 'patient';
  patientId: string;
}

export interface RelatedPersonCaller extends CallerBase {
  kind: 'related-person';
  relatedPersonId: string;
  patientId: string; // the minor represented
}

export interface PractitionerCaller extends CallerBase {
  kind: 'practitioner';
  practitionerId: string;
  roles: PractitionerRoleGrant[];
  /** X-Purpose-Of-Use of the request (CONTRACT §4.3 step 2); absent means TREAT. Set by applyPurposeOfUse (src/access/purpose-of-use.ts). */
  purposeOfUse?: 'TREAT' | 'ETREAT' | 'BTG';
  /** X-Break-Glass-Reason, required (non-empty) with BTG; kept for the audit. */
  breakGlassReason?: string;
}

export interface SystemCaller extends CallerBase {
  kind: 'system';
  clientId: string;
  operator: boolean; // holds system/*.* or system/*.cruds
  /** `Organization/O` the client is registered for (CLIENTS_FILE, §8): an `author` it may name (§4.3). */
  organization?: string;
}

export type Caller = PatientCaller | RelatedPersonCaller | PractitionerCaller | SystemCaller;

/** The submitter recorded on every resource ("created_by" column). */
export function submitterOf(caller: Caller): string {
  switch (caller.kind) {
    case 'patient':
      return `Patient/${caller.patientId}`;
    case 'related-person':
      return `RelatedPerson/${caller.relatedPersonId}`;
    case 'practitioner':
      return `Practitioner/${caller.practitionerId}`;
    case 'system':
      return `client:${caller.clientId}`;
  }
}
