/**
 * Carnet's access policy (CONTRACT §3, §4): the front door of src/access,
 * bound per session to its caller and its executor (`forCaller`), so the
 * facts the rules read — consents, document facts, PractitionerRoles, the
 * activity history — are read inside the session's transaction: a Bundle's
 * later entries see what its earlier ones wrote.
 * - readable: the SQL form of the decision (sql.ts), ANDed by the store and
 *   the search engine inside every query;
 * - served: the copies of resources served, references to what the caller
 *   may not see removed (served-references.ts);
 * - checkPatientSpace: 403 for a request naming a space the caller may not
 *   enter (another patient's; for a practitioner: blocked, unauthorized in
 *   TREAT, or refused in ETREAT/BTG);
 * - checkNotBlocked: 403 for a practitioner X blocked (a row of X named by id);
 * - checkWrite: the write rules (write-rules.ts) and the consent-kind profiles;
 * - checkScope: SMART scopes cap everything; AuditEvent searches are the
 *   patient's and their representatives' only;
 * - resolveIdentity: a patient found by INS-NIR, as its identity subset
 *   (patient-identity.ts);
 * - knownPatients: the patients a request may learn exist.
 * A patient who closed their space (CONTRACT §7) is, on every one of these
 * paths, a patient that never existed: the predicate hides their rows
 * (sql.ts), the facts reader reads no choice of theirs and no Patient to
 * submit to, resolve or verify (facts-reader.ts).
 * Never returns a predicate wider than the rules of decision.ts.
 */
import type { Resource } from 'fhir/r4';
import { FhirError, forbidden } from '../kernel/errors';
import type { AuditRecorder, CallerAccess, KnownReferences, Validator, WriteKind } from '../kernel/ports';
import type { Caller, Interaction } from '../kernel/caller';
import type { Executor } from '../store/executor';
import type { RowPredicate, SqlBinding } from '../kernel/predicate';
import type { StoredResource } from '../store/resources';
import { inlineContents } from '../store/binary-contents';
import type { AccessHistory } from './access-history';
import { historyOwnerOf, HISTORY_FORBIDDEN } from './audit-readers';
import { resolveIdentity } from './patient-identity';
import { consentKindProfiles } from './consent-writes';
import { actorsCovering, BLOCKED, blockedBy, purposeOf, spaceEntry } from './decision';
import { AccessFactsReader } from './facts-reader';
import { AuthorizationGrid } from './grid';
import { requireScope } from './scope-check';
import { ServedReferences } from './served-references';
import { compileOpen, compileReadable } from './sql';
import { ruleClassOf } from './vocabulary';
import { checkWriteRules, everySpaceOpen, type PatientSpaces } from './write-rules';

export interface CarnetPolicyOptions {
  /** PatientCompartment (src/kernel/compartment.ts). */
  compartment: { has(resourceType: string): boolean; types(): string[] };
  /** "P has accessed X's space", read through the session's executor (audit/access-history.ts). */
  accessHistory: (sql: Executor) => AccessHistory;
  /** The server's validator: Consent-kind profiles are checked with it on every write of a choice. */
  validator?: Validator;
  grid?: AuthorizationGrid;
  spaces?: PatientSpaces;
  /** The server's FHIR base (`$BASE_URL/fhir`): references absolute on it are local (kernel/reference.ts), as the access indexer reads them. */
  baseUrl?: string;
}

const unrecorded: Pick<AuditRecorder, 'refused'> = { refused: () => {} };

/**
 * Rendered access predicates, by caller, question and row alias. A caller's
 * SQL depends on nothing else (the grid and the compartment are the
 * policy's own; dates are PostgreSQL's `now()`), so a caller's next request
 * reuses it instead of compiling it again. The oldest entries go first.
 */
class RenderedPredicates {
  private readonly rendered = new Map<string, { sql: string; bindings: SqlBinding[] }>();

  constructor(private readonly max: number) {}

  of(caller: Caller, question: string, compile: () => RowPredicate): RowPredicate {
    const key = `${callerKey(caller)}|${question}`;
    let compiled: RowPredicate | undefined;
    return {
      render: (alias) => {
        const entry = `${key}|${alias}`;
        const known = this.rendered.get(entry);
        if (known) return known;
        const rendered = (compiled ??= compile()).render(alias);
        const made = { sql: rendered.sql, bindings: Object.freeze(rendered.bindings) as SqlBinding[] }; // shared: never changed
        if (this.rendered.size >= this.max) this.rendered.delete(this.rendered.keys().next().value as string);
        this.rendered.set(entry, made);
        return made;
      },
    };
  }
}

const callerKeys = new WeakMap<Caller, string>();

/** Everything a caller's predicates are compiled from; once per caller object (a caller is never changed once made: applyPurposeOfUse copies it). */
function callerKey(caller: Caller): string {
  let key = callerKeys.get(caller);
  if (key === undefined) {
    key = JSON.stringify(keyFields(caller));
    callerKeys.set(caller, key);
  }
  return key;
}

/** The caller as plain data, its scopes' interaction sets as sorted letters (JSON.stringify with a replacer took twice as long: 4.6–5.0 µs against 2.5–2.8 for a practitioner). */
function keyFields(caller: Caller): unknown {
  const scopes = caller.scopes.map((scope) => [scope.context, scope.resourceType, [...scope.interactions].sort().join('')]);
  return { ...caller, scopes };
}

export class CarnetAccessPolicy {
  readonly grid: AuthorizationGrid;
  private readonly spaces: PatientSpaces;
  private readonly rendered = new RenderedPredicates(5000);

  constructor(private readonly options: CarnetPolicyOptions) {
    this.grid = options.grid ?? AuthorizationGrid.load();
    this.spaces = options.spaces ?? everySpaceOpen;
  }

  /** The decision for one caller, its facts read through `sql`, its refusals told to `audit`. */
  forCaller(caller: Caller, sql: Executor, audit: Pick<AuditRecorder, 'refused'> = unrecorded): CallerAccess {
    return new BoundAccess(this, caller, sql, new AccessFactsReader(sql), this.options.accessHistory(sql), audit);
  }

  readable(caller: Caller, resourceType?: string): RowPredicate {
    return this.rendered.of(caller, `${resourceType ?? '*'}`, () => compileReadable(caller, resourceType, { grid: this.grid, compartment: this.options.compartment }));
  }

  /** References inside what `caller` is served, checked through `sql`: rows of shared types are all visible to every caller. */
  servedReferences(caller: Caller, sql: Executor): ServedReferences {
    const inCompartment = (type: string) => this.options.compartment.has(type);
    const readable = (types: readonly string[]) => this.referencesReadable(caller, types);
    return new ServedReferences({ sql, readable, hideable: (type) => ruleClassOf(type, inCompartment) !== 'shared' });
  }

  /** What served references test a referenced row of these types with: the any-type predicate (scopes capped), narrowed to them. */
  referencesReadable(caller: Caller, types: readonly string[]): RowPredicate {
    return this.rendered.of(caller, `among:${types.join(',')}`, () => compileReadable(caller, undefined, { grid: this.grid, compartment: this.options.compartment }, types));
  }

  checkScope(caller: Caller, resourceType: string, interaction: Interaction): void {
    requireScope(caller, resourceType, interaction);
    if (resourceType === 'AuditEvent' && interaction === 's' && historyOwnerOf(caller) === undefined) throw forbidden(HISTORY_FORBIDDEN);
  }

  async checkPatientSpace(caller: Caller, patientId: string, facts: AccessFactsReader): Promise<void> {
    switch (caller.kind) {
      case 'patient':
      case 'related-person':
        if (caller.patientId !== patientId) throw forbidden('a patient reaches only their own health space');
        return;
      case 'practitioner': {
        const entry = spaceEntry(caller, await facts.rulesOf(patientId));
        if (!entry.space) throw forbidden(`Patient/${patientId}: ${entry.reason}`);
        return;
      }
      case 'system':
        return;
    }
  }

  async checkNotBlocked(caller: Caller, patientId: string, facts: AccessFactsReader): Promise<void> {
    if (caller.kind !== 'practitioner') return;
    if (blockedBy(await facts.rulesOf(patientId), actorsCovering(caller))) throw forbidden(BLOCKED);
  }

  async checkWrite(caller: Caller, kind: WriteKind, resource: Resource | null, current: StoredResource | undefined, patientIds: string[], facts: AccessFactsReader, accessHistory: AccessHistory): Promise<void> {
    await checkWriteRules(caller, kind, resource, current, patientIds, {
      compartment: this.options.compartment,
      facts,
      accessHistory,
      spaces: this.spaces,
      validator: this.options.validator,
      baseUrl: this.options.baseUrl,
      readable: (type) => this.readable(caller, type),
      open: (type) => compileOpen(caller, type, { grid: this.grid, compartment: this.options.compartment }),
    });
  }
}

/** CarnetAccessPolicy for one caller on one executor; refusals are told to the audit. */
class BoundAccess implements CallerAccess {
  constructor(
    private readonly policy: CarnetAccessPolicy,
    private readonly caller: Caller,
    private readonly sql: Executor,
    private readonly facts: AccessFactsReader,
    private readonly accessHistory: AccessHistory,
    private readonly audit: Pick<AuditRecorder, 'refused'>,
  ) {}

  readable(resourceType?: string): RowPredicate {
    return this.policy.readable(this.caller, resourceType);
  }

  checkScope(resourceType: string, interaction: Interaction): void {
    this.policy.checkScope(this.caller, resourceType, interaction);
  }

  profilesFor(resource: Resource): string[] {
    return consentKindProfiles(resource);
  }

  served<T extends Resource>(resources: readonly T[], baseUrl: string, known?: KnownReferences): Promise<T[]> {
    // a Binary whose bytes are in the content store is served with them inline as `data`
    return this.policy.servedReferences(this.caller, this.sql).served(resources, baseUrl, known).then((served) => inlineContents(this.sql, served));
  }

  referencesReadable(types: readonly string[]): RowPredicate {
    return this.policy.referencesReadable(this.caller, types);
  }

  async checkPatientSpace(patientId: string): Promise<void> {
    await this.refusing([patientId], () => this.policy.checkPatientSpace(this.caller, patientId, this.facts));
  }

  async checkNotBlocked(patientId: string): Promise<void> {
    await this.refusing([patientId], () => this.policy.checkNotBlocked(this.caller, patientId, this.facts));
  }

  async checkWrite(kind: WriteKind, resource: Resource | null, current: StoredResource | undefined, patientIds: string[]): Promise<void> {
    const concerned = current?.patientId && !patientIds.includes(current.patientId) ? [...patientIds, current.patientId] : patientIds;
    await this.refusing(concerned, () => this.policy.checkWrite(this.caller, kind, resource, current, patientIds, this.facts, this.accessHistory));
  }

  /**
   * The identity `nir` resolves to (patient-identity.ts); 403, audited about X, for a practitioner
   * X blocks, or one in ETREAT/BTG mode that step 2 refuses (§4.3: anything about X).
   */
  async resolveIdentity(nir: string): Promise<StoredResource | undefined> {
    const identity = await resolveIdentity(this.caller, nir, this.sql);
    if (!identity || !(await this.facts.patientExists(identity.id))) return undefined; // a closed space's NIR resolves to nothing
    const emergency = this.caller.kind === 'practitioner' && purposeOf(this.caller) !== 'TREAT';
    await (emergency ? this.checkPatientSpace(identity.id) : this.checkNotBlocked(identity.id));
    return identity;
  }

  knownPatients(patientIds: readonly string[]): Promise<Set<string>> {
    return this.facts.knownPatients(patientIds);
  }

  private async refusing(patientIds: readonly string[], check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      if (error instanceof FhirError && error.status < 500) this.audit.refused(patientIds);
      throw error;
    }
  }
}
