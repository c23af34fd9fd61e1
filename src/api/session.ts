/**
 * The request-scoped session (the `Session` port of kernel/ports.ts): made once per
 * request at the edge, after identification, with the caller (its purpose
 * of use read from the headers, once), and the store, search engine, access
 * decision and audit recorder bound to one executor — the pool, or inside
 * `transaction` the transaction's own. Holds no logic of its own.
 */
import type { AuditRecorder, Session, Validator } from '../kernel/ports';
import type { PatientCompartment } from '../kernel/compartment';
import type { Caller } from '../kernel/caller';
import type { Sealer } from '../kernel/sealed';
import type { SearchParameterRegistry } from '../search/parameters';
import type { SearchComponents } from '../search';
import type { CarnetAccessPolicy } from '../access/policy';
import { applyPurposeOfUse } from '../access/purpose-of-use';
import { RequestRecorder } from '../audit/recorder';
import type { RecordedSession } from '../audit/audited';
import type { Executor, TransactionOptions } from '../store/executor';
import { ResourceStore, type ResourceIndexer } from '../store/resources';
import type { ReadBatches } from '../store/read-batches';

/** What every session shares: built once at start. */
export interface SessionServices {
  baseUrl: string;
  /** Seals history links' paging tokens. */
  pageTokens: Sealer;
  validator: Validator;
  registry: SearchParameterRegistry;
  compartment: PatientCompartment;
  search: SearchComponents;
  policy: CarnetAccessPolicy;
  indexer: ResourceIndexer;
  /** The pool. */
  sql: Executor;
  /** Reads by id on the pool, batched per turn of the event loop. */
  reads: ReadBatches;
}

export class RequestSession implements RecordedSession {
  readonly store: ResourceStore;
  readonly search: Session['search'];
  readonly access: Session['access'];

  constructor(
    private readonly services: SessionServices,
    readonly caller: Caller,
    private readonly sql: Executor,
    readonly audit: RequestRecorder,
  ) {
    this.store = new ResourceStore(sql, services.indexer, audit, services.reads);
    this.search = services.search.search(sql, audit);
    this.access = services.policy.forCaller(caller, sql, audit);
  }

  get baseUrl(): string {
    return this.services.baseUrl;
  }

  get pageTokens(): Sealer {
    return this.services.pageTokens;
  }

  get validator(): Validator {
    return this.services.validator;
  }

  get registry(): SearchParameterRegistry {
    return this.services.registry;
  }

  get compartment(): PatientCompartment {
    return this.services.compartment;
  }

  get inTransaction(): boolean {
    return this.sql.inTransaction;
  }

  transaction<T>(work: (session: Session) => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (this.sql.inTransaction) return work(this);
    return this.sql.transaction((trx) => work(new RequestSession(this.services, this.caller, trx, this.audit)), options);
  }

  withRecorder(recorder: RequestRecorder): RequestSession {
    return new RequestSession(this.services, this.caller, this.sql, recorder);
  }
}

export class Sessions {
  constructor(private readonly services: SessionServices) {}

  /** The session of a request: its caller in the request's mode (400 on a bad X-Purpose-Of-Use). */
  open(caller: Caller, headers: Record<string, string | undefined>): RequestSession {
    return this.openAs(applyPurposeOfUse(caller, headers));
  }

  /** A session for a caller as given (a refused mode is audited through it; scripts). */
  openAs(caller: Caller): RequestSession {
    return new RequestSession(this.services, caller, this.services.sql, new RequestRecorder(this.services.compartment));
  }
}

export type { AuditRecorder };
