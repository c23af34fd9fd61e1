/**
 * Opening a space (§7): enrolment by the insurer, opposition while pending, activation by the
 * patient or a legal representative.
 *
 * Enrolment writes Patient X and the representatives' RelatedPersons as one FHIR transaction
 * through the public pipeline, as the enrolling client (validation, the INS-NIR uniqueness,
 * the audit: all as for any other write), then the accounts, each with its provisional code
 * (only its keyed hash is kept), queued as a letter and, with an address, an email.
 * A wrong code, NIR or Vitale serial — or one that is expired or used — is one and the same 400.
 * Never logs or stores a code, NIR or serial in clear; never returns a code but once, to the enroller.
 */
import type { Bundle, BundleEntry, Patient, RelatedPerson, Resource } from 'fhir/r4';
import { FhirError, type IssueCode } from '../kernel/errors';
import type { Caller, SystemCaller } from '../kernel/caller';
import type { FhirRequest, FhirResponse } from '../kernel/request';
import { callerAllows, parseScopes } from '../identity/scopes';
import type { Executor } from '../store/executor';
import type { Clock } from './clock';
import type { AccountMessages } from './messages';
import { AccountKeys, drawProvisionalCode, isNir, isVitaleSerial, normaliseNir, sameKey } from './keys';
import { hashPassword, passwordRefusal, verifyPassword, type Lang } from './passwords';
import { OPPOSITION_PERIOD_MS } from './spaces';

export const INS_NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const REPRESENTATIVE_ROLES = new Set(['PRN', 'MTH', 'FTH', 'GUARD']);
const ROLE_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';

/** The one answer of every mismatch (code, NIR, serial, expired, used, wrong state). */
export const NO_MATCH = 'the code, NIR or Vitale serial does not match a space awaiting them';

export interface FhirPort {
  handle(request: FhirRequest, caller: Caller | undefined): Promise<FhirResponse>;
}

export interface EnrolmentOptions {
  sql: Executor;
  keys: AccountKeys;
  clock: Clock;
  messages: AccountMessages;
  fhir: FhirPort;
  /** Physically erases X (accounts/erasure.ts), in the given transaction. */
  erase: (sql: Executor, patientId: string) => Promise<unknown>;
}

export interface Enrolled {
  patient: string;
  code: string;
  expires: string;
  representatives: { relatedPerson: string; code: string; expires: string }[];
}

interface AccountRow {
  subject: string;
  patient_id: string;
  kind: 'patient' | 'representative';
  state: string;
  nir_key: string | null;
  vitale_key: string | null;
  code_expires: Date | null;
  login: string | null;
  email: string | null;
  phone: string | null;
}

export interface Proof {
  code: unknown;
  nir: unknown;
  vitaleSerial: unknown;
}

export class Enrolment {
  constructor(private readonly options: EnrolmentOptions) {}

  async enrol(caller: Caller, body: unknown): Promise<Enrolled> {
    if (caller.kind !== 'system' || !callerAllows(caller, 'Patient', 'c')) throw new FhirError(403, 'forbidden', 'enrolment needs a system client with scope system/Patient.write');
    const input = readEnrolment(body);
    const nir = insNirOf(input.patient);
    const { keys, sql, clock } = this.options;
    const opposed = await sql.query('SELECT 1 FROM account_oppositions WHERE nir_key = ?', [keys.nir(nir)]);
    if (opposed.rows.length) throw new FhirError(409, 'conflict', 'this person opposed the opening of their health space: it cannot be opened again by enrolment', 'patient.identifier');
    const written = await this.writeResources(caller, input);
    const now = clock.now();
    const expires = new Date(now.getTime() + OPPOSITION_PERIOD_MS);
    const codes = new Map<string, string>();
    await sql.transaction(async (trx) => {
      const patientCode = await this.insertAccount(trx, { subject: `Patient/${written.patientId}`, patientId: written.patientId, kind: 'patient', nir, vitale: input.vitaleSerial, email: input.email, phone: input.phone, createdBy: caller.clientId, now, expires });
      codes.set(`Patient/${written.patientId}`, patientCode);
      for (const [index, id] of written.relatedPersonIds.entries()) {
        const person = input.representatives[index];
        const code = await this.insertAccount(trx, { subject: `RelatedPerson/${id}`, patientId: written.patientId, kind: 'representative', nir: insNirOf(person, `representatives[${index}]`), vitale: input.vitaleSerial, email: emailOf(person), phone: undefined, createdBy: caller.clientId, now, expires });
        codes.set(`RelatedPerson/${id}`, code);
      }
    });
    const expiresText = expires.toISOString();
    return {
      patient: `Patient/${written.patientId}`,
      code: codes.get(`Patient/${written.patientId}`) as string,
      expires: expiresText,
      representatives: written.relatedPersonIds.map((id) => ({ relatedPerson: `RelatedPerson/${id}`, code: codes.get(`RelatedPerson/${id}`) as string, expires: expiresText })),
    };
  }

  /** Opposition while pending: X's data erased, only the record that an opposition happened left. */
  async oppose(proof: Proof): Promise<void> {
    await this.options.sql.transaction(async (trx) => {
      const account = await this.proven(trx, proof);
      const space = await trx.query<{ state: string }>('SELECT state FROM accounts WHERE subject = ? FOR UPDATE', [`Patient/${account.patient_id}`]);
      if (space.rows[0]?.state !== 'pending') throw new FhirError(400, 'business-rule', 'the space can no longer be opposed: it is open or activated (close it instead)');
      const patientNir = await trx.query<{ nir_key: string }>('SELECT nir_key FROM accounts WHERE subject = ?', [`Patient/${account.patient_id}`]);
      await this.options.erase(trx, account.patient_id);
      await trx.query('DELETE FROM refresh_tokens WHERE subject IN (SELECT subject FROM accounts WHERE patient_id = ?)', [account.patient_id]);
      await trx.query('DELETE FROM accounts WHERE patient_id = ?', [account.patient_id]);
      await trx.query('INSERT INTO account_oppositions (nir_key, opposed_at) VALUES (?, ?) ON CONFLICT (nir_key) DO NOTHING', [patientNir.rows[0].nir_key, this.options.clock.now()]);
    });
  }

  /** Activation: the proof, a password that passes the rule, and a contact for the second factor. */
  async activate(body: unknown, lang: Lang = 'fr'): Promise<{ subject: string; patient: string }> {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const email = optionalText(input.email, 'email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
    const phone = optionalText(input.phone, 'phone', /^\+?[0-9 .-]{6,20}$/);
    const refusal = passwordRefusal(input.password, lang);
    if (refusal) throw new FhirError(400, 'invalid', refusal, 'password');
    const password = input.password as string;
    return this.options.sql.transaction(async (trx) => {
      const account = await this.proven(trx, input as unknown as Proof);
      const space = await trx.query<{ state: string }>('SELECT state FROM accounts WHERE subject = ?', [`Patient/${account.patient_id}`]);
      const spaceState = space.rows[0]?.state;
      const activatable = account.kind === 'patient' ? account.state === 'pending' || account.state === 'open' : account.state === 'pending' && (spaceState === 'pending' || spaceState === 'open' || spaceState === 'active');
      if (!activatable) throw new FhirError(400, 'invalid', NO_MATCH);
      const contactEmail = email ?? account.email ?? undefined;
      const contactPhone = phone ?? account.phone ?? undefined;
      if (!contactEmail && !contactPhone) throw new FhirError(400, 'required', 'an email address or a phone number is needed to receive the login codes', 'email');
      const loginKey = account.nir_key as string;
      const existing = await trx.query<{ password_hash: string }>('SELECT password_hash FROM account_logins WHERE nir_key = ? FOR UPDATE', [loginKey]);
      const now = this.options.clock.now();
      if (existing.rows[0]) {
        // The person already logs into another space: the same password proves it is them.
        if (!(await verifyPassword(existing.rows[0].password_hash, password))) throw new FhirError(400, 'invalid', NO_MATCH);
      } else {
        await trx.query('INSERT INTO account_logins (nir_key, password_hash, email, phone, factor, credentials_changed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
          loginKey,
          await hashPassword(password),
          contactEmail ?? null,
          contactPhone ?? null,
          contactEmail ? 'email' : 'sms',
          now,
          now,
        ]);
      }
      await trx.query(`UPDATE accounts SET state = 'active', login = ?, code_key = NULL, code_expires = NULL, activated_at = ?, opening_notice_at = NULL WHERE subject = ?`, [loginKey, now, account.subject]);
      // A legal representative activates the minor's space with their own account.
      if (account.kind === 'representative') await trx.query(`UPDATE accounts SET state = 'active', opening_notice_at = NULL WHERE subject = ? AND state IN ('pending', 'open')`, [`Patient/${account.patient_id}`]);
      return { subject: account.subject, patient: account.patient_id };
    });
  }

  /** The account a proof opens, locked; every mismatch is the same 400. */
  private async proven(trx: Executor, proof: Proof): Promise<AccountRow> {
    const { keys, clock } = this.options;
    if (typeof proof.code !== 'string' || !isNir(proof.nir) || !isVitaleSerial(proof.vitaleSerial)) throw new FhirError(400, 'invalid', NO_MATCH);
    const result = await trx.query<AccountRow>('SELECT * FROM accounts WHERE code_key = ? FOR UPDATE', [keys.provisionalCode(proof.code)]);
    const account = result.rows[0];
    const matches = !!account && sameKey(account.nir_key, keys.nir(proof.nir)) && sameKey(account.vitale_key, keys.vitale(proof.vitaleSerial));
    if (!matches || !account.code_expires || account.code_expires.getTime() <= clock.now().getTime()) throw new FhirError(400, 'invalid', NO_MATCH);
    return account;
  }

  private async insertAccount(
    trx: Executor,
    row: { subject: string; patientId: string; kind: 'patient' | 'representative'; nir: string; vitale: string; email?: string; phone?: string; createdBy: string; now: Date; expires: Date },
  ): Promise<string> {
    const { keys } = this.options;
    const code = drawProvisionalCode();
    await trx.query(
      `INSERT INTO accounts (subject, patient_id, kind, state, nir_key, vitale_key, code_key, code_expires, email, phone, created_by, created_at, opens_at)
       VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [row.subject, row.patientId, row.kind, keys.nir(row.nir), keys.vitale(row.vitale), keys.provisionalCode(code), row.expires, row.email ?? null, row.phone ?? null, `client:${row.createdBy}`, row.now, row.kind === 'patient' ? row.expires : null],
    );
    const params = { code, expires: row.expires.toISOString() };
    await this.options.messages.queue(trx, { channel: 'letter', to: row.subject, template: 'enrolment-code', params });
    if (row.email) await this.options.messages.queue(trx, { channel: 'email', to: row.email, template: 'enrolment-code', params });
    return code;
  }

  /** Patient X and the RelatedPersons, one FHIR transaction through the pipeline as the enroller. */
  private async writeResources(caller: SystemCaller, input: EnrolmentInput): Promise<{ patientId: string; relatedPersonIds: string[] }> {
    const patientUrl = 'urn:uuid:00000000-0000-4000-8000-000000000000';
    const entries: BundleEntry[] = [
      { fullUrl: patientUrl, resource: input.patient, request: { method: 'POST', url: 'Patient' } },
      ...input.representatives.map((person, index): BundleEntry => ({
        fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`,
        resource: { ...person, patient: { reference: patientUrl } } as RelatedPerson,
        request: { method: 'POST', url: 'RelatedPerson' },
      })),
    ];
    const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
    // The enrolment grants what it needs to write the representatives it was given.
    const enroller: SystemCaller = { ...caller, scopes: [...caller.scopes, ...parseScopes('system/RelatedPerson.write')] };
    const response = await this.options.fhir.handle({ method: 'POST', path: '', query: [], body: bundle, headers: {} }, enroller);
    if (response.status >= 400) throw errorFrom(response);
    // Each entry's Location, relative or absolute: …/Type/id/_history/n.
    const ids = ((response.body as Bundle).entry ?? []).map((entry) => /([A-Za-z]+)\/([^/]+)\/_history\/[^/]+$/.exec(entry.response?.location ?? '')?.[2] as string);
    if (ids.length !== entries.length || ids.some((id) => !id)) throw new Error('the enrolment transaction answered without the Location of every entry');
    return { patientId: ids[0], relatedPersonIds: ids.slice(1) };
  }
}

interface EnrolmentInput {
  patient: Patient;
  vitaleSerial: string;
  email?: string;
  phone?: string;
  representatives: RelatedPerson[];
}

function readEnrolment(body: unknown): EnrolmentInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FhirError(400, 'invalid', 'the enrolment is a JSON object { patient, vitaleSerial, email?, phone?, representatives? }');
  const input = body as Record<string, unknown>;
  const patient = input.patient as Resource | undefined;
  if (!patient || typeof patient !== 'object' || patient.resourceType !== 'Patient') throw new FhirError(400, 'required', 'patient must be a Patient resource', 'patient');
  if (!isVitaleSerial(input.vitaleSerial)) throw new FhirError(400, 'invalid', 'vitaleSerial must be the Vitale card serial number: 8 to 13 digits', 'vitaleSerial');
  const email = optionalText(input.email, 'email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  const phone = optionalText(input.phone, 'phone', /^\+?[0-9 .-]{6,20}$/);
  const list = input.representatives ?? [];
  if (!Array.isArray(list)) throw new FhirError(400, 'invalid', 'representatives must be a list of RelatedPerson resources', 'representatives');
  const nir = insNirOf(patient as Patient);
  const representatives = list.map((person: unknown, index) => readRepresentative(person, index, nir));
  return { patient: { ...(patient as Patient), telecom: withEmail((patient as Patient).telecom, email) }, vitaleSerial: (input.vitaleSerial as string).trim(), email, phone, representatives };
}

function readRepresentative(value: unknown, index: number, patientNir: string): RelatedPerson {
  const where = `representatives[${index}]`;
  const person = value as RelatedPerson;
  if (!person || typeof person !== 'object' || person.resourceType !== 'RelatedPerson') throw new FhirError(400, 'invalid', `${where} must be a RelatedPerson resource`, where);
  const roles = (person.relationship ?? []).flatMap((concept) => concept.coding ?? []).filter((coding) => coding.system === ROLE_CODE_SYSTEM && REPRESENTATIVE_ROLES.has(coding.code ?? ''));
  if (!roles.length) throw new FhirError(422, 'business-rule', `${where}.relationship must hold a v3-RoleCode PRN, MTH, FTH or GUARD: only legal representatives are enrolled`, `${where}.relationship`);
  const named = person.patient?.identifier;
  if (person.patient?.reference || (named && (named.system !== INS_NIR || normaliseNir(named.value ?? '') !== patientNir))) {
    throw new FhirError(422, 'business-rule', `${where}.patient must be omitted or name the enrolled patient by INS-NIR identifier`, `${where}.patient`);
  }
  insNirOf(person, where);
  return person;
}

/** The INS-NIR of a Patient or a representative (their own): required for a login. */
function insNirOf(resource: { identifier?: { system?: string; value?: string }[] }, where = 'patient'): string {
  const value = resource.identifier?.find((identifier) => identifier.system === INS_NIR)?.value;
  if (!isNir(value)) throw new FhirError(422, 'required', `${where}.identifier must hold an INS-NIR (${INS_NIR}) of 15 characters`, `${where}.identifier`);
  return normaliseNir(value);
}

function emailOf(person: RelatedPerson): string | undefined {
  return person.telecom?.find((telecom) => telecom.system === 'email' && telecom.value)?.value;
}

function withEmail(telecom: Patient['telecom'], email: string | undefined): Patient['telecom'] {
  if (!email || telecom?.some((point) => point.system === 'email' && point.value === email)) return telecom;
  return [...(telecom ?? []), { system: 'email', value: email }];
}

function optionalText(value: unknown, name: string, pattern: RegExp): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !pattern.test(value.trim())) throw new FhirError(400, 'invalid', `${name} is not valid`, name);
  return value.trim();
}

/** The pipeline's refusal, as the enrolment's own (its status and issues). */
function errorFrom(response: FhirResponse): FhirError {
  const outcome = response.body as { issue?: { code?: string; diagnostics?: string; expression?: string[] }[] } | undefined;
  const issues = (outcome?.issue ?? []).map((issue) => ({ severity: 'error' as const, code: (issue.code ?? 'invalid') as IssueCode, message: issue.diagnostics ?? `the enrolment was refused (HTTP ${response.status})`, expression: issue.expression }));
  return issues.length ? FhirError.withIssues(response.status, issues) : new FhirError(response.status, 'invalid', `the enrolment was refused (HTTP ${response.status})`);
}
