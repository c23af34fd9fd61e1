/**
 * Caller resolution (§3): from the claims of a verified token to the Caller
 * every handler sees — patient X, legal representative of minor X,
 * practitioner P with the grants of P's active roles, or a system client.
 *
 * Owns the rules that turn `fhirUser`, `sub` and `scope` into a Caller. Reads
 * RelatedPerson, the represented Patient and PractitionerRole through a
 * CallerLookup, so it is pure apart from that port (and the clock, passed in).
 * Must never trust a claim it has not checked: a `fhirUser` absolute on
 * another server than this FHIR base is refused (401, like an untrusted
 * token); a RelatedPerson that is not a current legal representative, an
 * unknown `fhirUser` type or a system token without `system/` scopes is
 * refused (403). A parent (PRN, MTH, FTH) represents X only while X is a
 * minor — a birthDate less than 18 years before now, read at its earliest
 * (`2008` as 2008-01-01); a Patient without birthDate is not a minor — a
 * guardian (GUARD) at any age.
 *
 * A system client's `organization` is read only from tokens Carnet issued (its token
 * endpoint puts the client's registered Organization there, §8).
 *
 * Scopes of the wrong context (a practitioner holding only `patient/` scopes)
 * are kept on the Caller but grant nothing: rights are checked with
 * `callerAllows` (scopes.ts), which only counts scopes of the caller's context.
 *
 * Resolution happens once per HTTP request (the http layer calls it after
 * verifying the token and keeps the Caller on the request). A withdrawn role
 * or representative must stop counting at the next request: the roles the
 * server caches (role-cache.ts) are dropped as soon as any PractitionerRole is
 * written, and a representative is read every time.
 */
import type { Coding, Patient, PractitionerRole, RelatedPerson } from 'fhir/r4';
import type { JWTPayload } from 'jose';
import { forbidden } from '../kernel/errors';
import { invalidToken } from './tokens';
import { localReference } from '../kernel/reference';
import type { Caller, PractitionerRoleGrant } from '../kernel/caller';
import { hasContext, isOperator, parseScopes } from './scopes';

export interface CallerLookup {
  relatedPerson(id: string): Promise<RelatedPerson | undefined>;
  /** The Patient a representative names (for its birthDate). */
  patient(id: string): Promise<Patient | undefined>;
  /** PractitionerRoles whose practitioner is Practitioner/id (resolveCaller keeps the active ones). */
  activeRoles(practitionerId: string): Promise<PractitionerRole[]>;
}

export const PROFESSION_SYSTEM = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
export const SPECIALTY_SYSTEM = 'https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale';
export const CARNET_ROLE_SYSTEM = 'https://carnet.example.org/fhir/CodeSystem/role';
export const SAMU_REGULATOR_CODE = 'samu-regulator';
export const ROLE_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
/** v3-RoleCode relationships that make a RelatedPerson a legal representative: parents of a minor, a guardian at any age. */
export const PARENT_CODES: readonly string[] = ['PRN', 'MTH', 'FTH'];
export const GUARDIAN_CODE = 'GUARD';
/** Age of majority (§3). */
const MAJORITY_YEARS = 18;

export interface ResolveContext {
  /** This server's FHIR base (`$BASE_URL/fhir`): an absolute `fhirUser` must be on it. Without it only relative ones are accepted. */
  fhirBase?: string;
  /** The instant roles, periods and ages are judged at (default: now). */
  now?: Date;
  /** `iss` of the tokens Carnet issues: only those carry a client's `organization` (§8). */
  localIssuer?: string;
  /** Callers already resolved (identity's, across requests): see ResolvedCallers. */
  resolved?: ResolvedCallers;
}

/**
 * Callers already resolved, by token payload (the verifier keeps one payload
 * object per token), so a busy caller is one object across requests: a
 * patient's or a system's depends on the payload alone; a practitioner's
 * holds while the role lookup answers the same roles (the role cache's
 * array) and until the next instant one of their periods starts or ends. A
 * representative's is resolved at every request.
 */
export class ResolvedCallers {
  private readonly known = new WeakMap<JWTPayload, { caller: Caller; roles?: readonly PractitionerRole[]; until: number }>();

  /** The caller resolved from `payload`, if it still holds for `roles` (practitioners) at `now`. */
  get(payload: JWTPayload, now: Date, roles?: readonly PractitionerRole[]): Caller | undefined {
    const known = this.known.get(payload);
    return known && known.roles === roles && now.getTime() < known.until ? known.caller : undefined;
  }

  keep(payload: JWTPayload, caller: Caller, until = Infinity, roles?: readonly PractitionerRole[]): Caller {
    this.known.set(payload, { caller, roles, until });
    return caller;
  }
}

/** The next instant after `now` at which one of `roles`' periods starts or ends (Infinity: none). */
function nextRoleChange(roles: readonly PractitionerRole[], now: Date): number {
  let next = Infinity;
  for (const role of roles) {
    for (const bounds of [role.period?.start && fhirDateBounds(role.period.start)?.low, role.period?.end && fhirDateBounds(role.period.end)?.high]) {
      if (typeof bounds === 'number' && bounds > now.getTime()) next = Math.min(next, bounds);
    }
  }
  return next;
}

/** The `organization` claim (`Organization/O`) of a token Carnet issued to a registered client. */
function organizationOf(payload: JWTPayload, localIssuer: string | undefined): string | undefined {
  const organization = payload.organization;
  if (localIssuer === undefined || payload.iss !== localIssuer || typeof organization !== 'string') return undefined;
  return /^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(organization) ? organization : undefined;
}

export async function resolveCaller(payload: JWTPayload, lookup: CallerLookup, context: ResolveContext = {}): Promise<Caller> {
  const now = context.now ?? new Date();
  const resolved = context.resolved;
  const known = resolved?.get(payload, now);
  if (known) return known;
  const sub = typeof payload.sub === 'string' ? payload.sub : '';
  if (!sub) throw forbidden('token has no subject');
  const scopes = parseScopes(payload.scope);
  const fhirUser = payload.fhirUser;

  if (fhirUser === undefined || fhirUser === null || fhirUser === '') {
    if (!hasContext(scopes, 'system')) throw forbidden('a token without fhirUser must carry system/ scopes');
    const organization = organizationOf(payload, context.localIssuer);
    const caller: Caller = { kind: 'system', sub, scopes, clientId: sub, operator: isOperator(scopes), ...(organization ? { organization } : {}) };
    return resolved ? resolved.keep(payload, caller) : caller;
  }

  const user = fhirUserReference(fhirUser, context.fhirBase);
  switch (user?.type) {
    case 'Patient': {
      const caller: Caller = { kind: 'patient', sub, scopes, patientId: user.id };
      return resolved ? resolved.keep(payload, caller) : caller;
    }
    case 'RelatedPerson':
      return { kind: 'related-person', sub, scopes, relatedPersonId: user.id, patientId: await representedPatient(user.id, lookup, now) };
    case 'Practitioner': {
      const roles = await lookup.activeRoles(user.id);
      const same = resolved?.get(payload, now, roles);
      if (same) return same;
      const caller: Caller = { kind: 'practitioner', sub, scopes, practitionerId: user.id, roles: activeGrants(roles, user.id, now) };
      return resolved ? resolved.keep(payload, caller, nextRoleChange(roles, now), roles) : caller;
    }
    default:
      throw forbidden('fhirUser must reference a Patient, RelatedPerson or Practitioner');
  }
}

/**
 * `Type/id` a fhirUser claim names: relative, or absolute on this server's
 * FHIR base (kernel/reference.ts). An absolute URL on any other base is 401.
 */
function fhirUserReference(fhirUser: unknown, fhirBase: string | undefined): { type: string; id: string } | undefined {
  if (typeof fhirUser !== 'string') return undefined;
  const local = localReference(fhirUser, fhirBase);
  if (!local && /^[a-z][a-z0-9+.-]*:/i.test(fhirUser.trim())) throw invalidToken('fhirUser is not on this server\'s FHIR base');
  return local && { type: local.type, id: local.id };
}

/** The minor R legally represents; 403 unless R is a current legal representative. */
async function representedPatient(relatedPersonId: string, lookup: CallerLookup, now: Date): Promise<string> {
  const person = await lookup.relatedPerson(relatedPersonId);
  if (!person) throw forbidden('fhirUser RelatedPerson is unknown');
  if (person.active === false) throw forbidden('fhirUser RelatedPerson is not active');
  if (!periodCovers(person.period, now)) throw forbidden('fhirUser RelatedPerson is outside its period');
  const patient = localReference(person.patient?.reference);
  if (patient?.type !== 'Patient') throw forbidden('fhirUser RelatedPerson names no patient');
  const codes = relationshipCodes(person);
  if (codes.includes(GUARDIAN_CODE)) return patient.id;
  if (!codes.some((code) => PARENT_CODES.includes(code))) throw forbidden('fhirUser RelatedPerson is not a legal representative');
  if (!isMinor((await lookup.patient(patient.id))?.birthDate, now)) throw forbidden('fhirUser RelatedPerson is a parent of a patient who is not a minor');
  return patient.id;
}

/** The v3-RoleCode codes of R's relationships. */
function relationshipCodes(person: RelatedPerson): string[] {
  return (person.relationship ?? []).flatMap((concept) => (concept.coding ?? []).filter((coding) => coding.system === ROLE_CODE_SYSTEM && coding.code).map((coding) => coding.code as string));
}

/**
 * Born less than 18 years before `now` (UTC days). A partial birthDate is read
 * at its earliest day, an absent or malformed one is not a minor: an unsure
 * age never makes a parent a representative.
 */
export function isMinor(birthDate: string | undefined, now: Date): boolean {
  const bounds = birthDate && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(birthDate) ? fhirDateBounds(birthDate) : undefined;
  if (!bounds) return false;
  const born = new Date(bounds.low);
  return now.getTime() < Date.UTC(born.getUTCFullYear() + MAJORITY_YEARS, born.getUTCMonth(), born.getUTCDate());
}

/** The grants of P's roles that are in force at `now`: active not false, period covering now. */
export function activeGrants(roles: readonly PractitionerRole[], practitionerId: string, now: Date): PractitionerRoleGrant[] {
  return roles
    .filter((role) => role.active !== false && periodCovers(role.period, now) && isRoleOf(role, practitionerId))
    .map((role) => toGrant(role));
}

function isRoleOf(role: PractitionerRole, practitionerId: string): boolean {
  const practitioner = localReference(role.practitioner?.reference);
  return practitioner?.type === 'Practitioner' && practitioner.id === practitionerId;
}

function toGrant(role: PractitionerRole): PractitionerRoleGrant {
  const codes = (role.code ?? []).flatMap((concept) => concept.coding ?? []);
  const specialties = (role.specialty ?? []).flatMap((concept) => concept.coding ?? []);
  const grant: PractitionerRoleGrant = {
    roleId: role.id ?? '',
    professions: codesIn(codes, PROFESSION_SYSTEM),
    specialties: codesIn(specialties, SPECIALTY_SYSTEM),
    samuRegulator: codes.some((coding) => coding.system === CARNET_ROLE_SYSTEM && coding.code === SAMU_REGULATOR_CODE),
  };
  if (role.organization?.reference) grant.organization = role.organization.reference;
  return grant;
}

function codesIn(codings: readonly Coding[], system: string): string[] {
  return [...new Set(codings.filter((c) => c.system === system && c.code).map((c) => c.code as string))];
}

/** True when `now` lies within the period; partial dates count to the end of their day, month or year. */
export function periodCovers(period: { start?: string; end?: string } | undefined, now: Date): boolean {
  if (!period) return true;
  const start = period.start ? fhirDateBounds(period.start) : undefined;
  const end = period.end ? fhirDateBounds(period.end) : undefined;
  if (period.start && !start) return false;
  if (period.end && !end) return false;
  return (!start || start.low <= now.getTime()) && (!end || now.getTime() < end.high);
}

/** The instants a FHIR date or dateTime spans: [low, high). Dates without a zone are read as UTC. */
export function fhirDateBounds(value: string): { low: number; high: number } | undefined {
  const date = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  if (date) {
    const [year, month, day] = [Number(date[1]), date[2] ? Number(date[2]) - 1 : undefined, date[3] ? Number(date[3]) : undefined];
    const low = Date.UTC(year, month ?? 0, day ?? 1);
    const high = day !== undefined ? Date.UTC(year, month ?? 0, day + 1) : month !== undefined ? Date.UTC(year, month + 1, 1) : Date.UTC(year + 1, 0, 1);
    return { low, high };
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const instant = Date.parse(value);
  return Number.isNaN(instant) ? undefined : { low: instant, high: instant + 1 };
}
