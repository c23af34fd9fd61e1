/**
 * The ports of a request: what every FHIR interaction is given (the
 * Session) and the interfaces of the parts bound to it. Interfaces only:
 * implementations live in their own folders; the session is made once per
 * request, after identification (src/fhir/session.ts).
 */
import type { Meta, Resource, OperationOutcome } from 'fhir/r4';
import type { IssueDetail } from './errors';
import type { Store, StoredResource, StoreObserver } from './stored';
import type { RowPredicate } from './predicate';
import type { TransactionOptions } from './sql';
import type { PatientCompartment } from './compartment';
import type { Caller, Interaction } from './caller';
import type { FhirRequest, FhirResponse, Method, QueryParams } from './request';
import type { Sealer } from './sealed';

export interface ValidationOptions {
  /** Profiles to check besides those the resource claims in meta.profile. */
  profiles?: string[];
}

export interface Validator {
  /** All issues (errors and warnings); the write is refused when any has severity error/fatal. */
  validate(resource: unknown, options?: ValidationOptions): IssueDetail[];
  /** Canonical URLs of the profiles Carnet knows (profiles/). */
  knownProfiles(): string[];
}

export interface SearchRequest {
  resourceType?: string; // undefined: system-level search
  query: QueryParams;
  access: (resourceType: string) => RowPredicate;
  /** `Prefer: handling=`: unknown parameters are dropped (lenient, the default) or refused with 400 (strict). */
  handling?: 'strict' | 'lenient';
}

export interface SearchResult {
  matches: StoredResource[];
  included: StoredResource[];
  total?: number;
  /** Query parameters to echo in the self link (unknown ones dropped when lenient). */
  selfQuery: QueryParams;
  next?: QueryParams;
  previous?: QueryParams;
  outcome?: OperationOutcome;
}

/** The search engine of a session: reads through the session's executor, reports what it answers. */
export interface SearchEngine {
  search(request: SearchRequest): Promise<SearchResult>;
  /** Matching rows for conditional create/update/delete and conditional references (no paging; stops after `limit`; not reported as disclosed). */
  match(resourceType: string, query: QueryParams, access: RowPredicate, limit: number): Promise<StoredResource[]>;
  /** One page of `Patient/X/$everything`: up to `limit` rows after `after` (a rid). */
  everything(query: EverythingQuery, access: RowPredicate): Promise<EverythingRow[]>;
  /**
   * The profiles, tags and security labels in use on the live rows `access`
   * lets through (`$meta` at type level; no type: system level, the predicate
   * tests the type), found through their `_profile`/`_tag`/`_security` index rows.
   */
  metaInUse(resourceType: string | undefined, access: RowPredicate): Promise<Meta>;
  /** Replaces the index rows of `row`, whose content changed without a new version (`$meta-add`, `$meta-delete`). */
  reindex(row: StoredResource): Promise<void>;
}

export interface EverythingQuery {
  patientId: string;
  /** The types the caller's scopes let it read (or the requested ones). */
  types: string[];
  since?: Date;
  after?: number;
  limit: number;
}

export interface EverythingRow {
  row: StoredResource;
  /** In the compartment (search mode match), or only referenced from it (include). */
  member: boolean;
}

export type WriteKind = 'create' | 'update' | 'patch' | 'delete';

/** `Type/id` → whether the reader may see it, already answered with the reader's referencesReadable predicate. */
export type KnownReferences = ReadonlyMap<string, boolean>;

/** The access decision for one caller, reading its facts through the session (inside its transaction). */
export interface CallerAccess {
  /**
   * SQL predicate over rows of `resourceType` the caller may read; with no type
   * (system-level history or search) the predicate itself tests `resource_type`.
   */
  readable(resourceType?: string): RowPredicate;
  /** Throws a FhirError (403/404/422) when the caller may not perform this write. */
  checkWrite(kind: WriteKind, resource: Resource | null, current: StoredResource | undefined, patientIds: string[]): Promise<void>;
  /**
   * Throws 403 when the request names patient X's space and the caller may not
   * enter it (CONTRACT §4.3 step 5): a read of Patient/X, a search with
   * patient/subject = X, `$everything`. A search naming no patient never calls this.
   */
  checkPatientSpace(patientId: string): Promise<void>;
  /**
   * Throws 403 when patient X blocked the caller (CONTRACT §4.3 step 1: anything about X),
   * whatever the mode; for any other caller, or an unblocked one, nothing.
   */
  checkNotBlocked(patientId: string): Promise<void>;
  /** Throws 403 when the caller may not touch data of this type at all in this interaction (scopes). */
  checkScope(resourceType: string, interaction: Interaction): void;
  /** Profiles a write of `resource` must pass besides those it claims (the Consent-kind profiles). */
  profilesFor(resource: Resource): string[];
  /**
   * The copies of `resources` served to the caller (CONTRACT §4.3 step 7): every
   * Reference to a local resource the caller may not see — or to none, where
   * rows of its type may be hidden from the caller — removed, in one query for
   * all of them (access/served-references.ts). `baseUrl`: the FHIR base.
   */
  served<T extends Resource>(resources: readonly T[], baseUrl: string, known?: KnownReferences): Promise<T[]>;
  /**
   * The predicate `served` tests referenced rows of these types with: a read
   * may answer it for some targets in its own statement (Store.read's
   * companions) and hand the answers to `served` as known.
   */
  referencesReadable(types: readonly string[]): RowPredicate;
  /**
   * The Patient holding INS-NIR `nir` as its identity subset (SUBSETTED), when
   * the caller may resolve patients by NIR (CONTRACT §3); undefined when none
   * holds it or the caller may not. 403 for a practitioner that patient blocks.
   * The caller reports an answered subset to the audit (`disclosed`).
   */
  resolveIdentity(nir: string): Promise<StoredResource | undefined>;
  /**
   * Patients among `ids` a request may learn exist: stored (deleted ones
   * included) and their space not closed (CONTRACT §7: a closed space is as
   * if it never existed). `$verify-audit` answers for no other.
   */
  knownPatients(patientIds: readonly string[]): Promise<Set<string>>;
}

/**
 * What the audit is told of a request (CONTRACT §6): the store and search
 * report the rows they disclose and write, the policy each refusal, the
 * interactions the patients a request names. The audit groups by patient.
 */
export interface AuditRecorder extends StoreObserver {
  /**
   * Patients the request names (a Patient/X path, patient= parameters, a refused body): recorded if they exist.
   * `reference`: the resource it names for them (`Type/id` of a PUT), recorded unversioned if the request fails.
   */
  named(patientIds: readonly string[], reference?: string): void;
  /** Patients whose data the caller was refused (the policy). */
  refused(patientIds: readonly string[]): void;
}

/**
 * One request's session: the caller (with purpose of use), the database
 * connection or transaction, and the store, search, access decision and
 * audit recorder bound to them. Made once at the edge; interactions receive
 * it and nothing else.
 */
export interface Session {
  readonly caller: Caller;
  readonly baseUrl: string; // FHIR base, e.g. http://localhost:8080/fhir
  /** Seals the paging tokens of history links (the same secret in every process). */
  readonly pageTokens: Sealer;
  readonly validator: Validator;
  readonly compartment: PatientCompartment;
  readonly store: Store;
  readonly search: SearchEngine;
  readonly access: CallerAccess;
  readonly audit: AuditRecorder;
  readonly inTransaction: boolean;
  /**
   * Runs `work` with the session in a database transaction. Inside one
   * already, `work` runs in that same transaction, flat (no savepoint): a
   * failure fails the whole transaction.
   */
  transaction<T>(work: (session: Session) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

/** An interaction: a request and its session in, a response out (api/router.ts dispatches to it). */
export type Handler = (request: FhirRequest, session: Session, params: Record<string, string>) => Promise<FhirResponse>;

/** One line of the route table: method, path pattern (`:name` captures, literal `$op`), handler. */
export interface RouteLine {
  method: Method;
  pattern: string;
  handler: Handler;
}
