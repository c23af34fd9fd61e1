/**
 * What every FHIR handler is given: the store, the validator, the search
 * engine, the access policy and the server's base URL. Built once at start.
 * Interfaces only: implementations live in their own folders.
 */
import type { Resource, OperationOutcome } from 'fhir/r4';
import type { Knex } from 'knex';
import type { IssueDetail } from './errors';
import type { ResourceStore, StoredResource } from '../store/resources';
import type { RowPredicate } from '../store/predicate';
import type { SearchParameterRegistry } from '../search/parameters';
import type { PatientCompartment } from './compartment';
import type { Caller, Interaction } from '../identity/caller';
import type { QueryParams } from './request';

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
  trx?: Knex.Transaction;
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

export interface SearchEngine {
  search(request: SearchRequest): Promise<SearchResult>;
  /** Matching ids for conditional create/update/delete (no paging; stops after `limit`). */
  match(resourceType: string, query: QueryParams, access: RowPredicate, limit: number, trx?: Knex.Transaction): Promise<StoredResource[]>;
}

export type WriteKind = 'create' | 'update' | 'patch' | 'delete';

/** The access decision for the foundation; the access issue replaces its rules, not its shape. */
export interface AccessPolicy {
  /**
   * SQL predicate over rows of `resourceType` the caller may read; with no type
   * (system-level history or search) the predicate itself tests `resource_type`.
   */
  readable(caller: Caller, resourceType?: string): RowPredicate;
  /** Throws a FhirError (403/404/422) when the caller may not perform this write. */
  checkWrite(caller: Caller, kind: WriteKind, resource: Resource | null, current: StoredResource | undefined, patientIds: string[]): Promise<void>;
  /**
   * Throws 403 when the request names patient X's space and the caller may not
   * enter it (CONTRACT §4.3 step 5): a read of Patient/X, a search with
   * patient/subject = X, `$everything`. A search naming no patient never calls this.
   */
  checkPatientSpace(caller: Caller, patientId: string): Promise<void>;
  /** Throws 403 when the caller may not touch data of this type at all in this interaction (scopes). */
  checkScope(caller: Caller, resourceType: string, interaction: Interaction): void;
}

export interface FhirContext {
  baseUrl: string; // FHIR base, e.g. http://localhost:8080/fhir
  store: ResourceStore;
  validator: Validator;
  registry: SearchParameterRegistry;
  compartment: PatientCompartment;
  search: SearchEngine;
  access: AccessPolicy;
  /**
   * The same context inside an open transaction (a transaction Bundle): store
   * reads, writes and searches all go through `trx`, nested writes become savepoints.
   */
  inTransaction(trx: Knex.Transaction): FhirContext;
}
