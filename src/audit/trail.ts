/**
 * The audit trail: stores AuditEvents durably, with group commit. Concurrent
 * requests' events queue in process and are written together by one
 * statement on the main pool (never a client's transaction, so the audit of a
 * refused or rolled-back request survives) that locks the patients' chain
 * heads, links each event to its patient's previous one, inserts the events
 * and one outbox row each, and moves the heads. `record` resolves only after
 * that commit — "stored before the response" — and rejects if it failed, so a
 * request about X is never answered unaudited.
 *
 * Events go to one of `lanes` queues by patient: a lane flushes one batch at
 * a time (a patient's chain is appended in order), lanes flush in parallel
 * (different patients never wait for each other). Heads are locked in the
 * database as well, so several server processes keep every chain whole.
 * Each lane keeps one pooled connection (`SqlPool.reserve`) and a prepared
 * statement: its flushes never queue behind the requests waiting for the
 * pool. `close()` gives the connections back.
 */
import type { AuditEvent } from 'fhir/r4';
import type { ReservedConnection, SqlPool } from '../kernel/sql';
import type { AuditColumns } from './event';

export interface AuditRecord {
  patientId: string;
  event: AuditEvent;
  columns: AuditColumns;
}

export interface AuditTrailOptions {
  /** Most events written by one flush (default 500). */
  maxBatch?: number;
  /**
   * Parallel flush lanes, patients spread over them by id (default 1: on a
   * small machine fewer, larger batches cost less than parallel commits).
   */
  lanes?: number;
  /**
   * NOTIFY_DIGEST_MINUTES: a non-emergency event's notification is due this
   * long after it (the worker then sends the patient's pending events as one
   * digest); emergency ones are due at once. Default 0.
   */
  digestMinutes?: number;
  /** Called after each commit; `emergency` when a stored event was ETREAT or BTG (wakes the notifier). */
  onStored?: (stored: { count: number; emergency: boolean }) => void;
}

interface Pending {
  records: AuditRecord[];
  resolve: () => void;
  reject: (error: Error) => void;
}

interface PgError {
  code?: string;
  constraint?: string;
}

/**
 * Retried once: deadlocks, serialization failures, chain-position conflicts,
 * and a lost connection (no SQLSTATE: the statement's fate is unknown).
 */
function retryable(error: PgError): boolean {
  return error.code === undefined || ['40P01', '40001', '23505'].includes(error.code) || error.code.startsWith('08');
}

/** On the retry, an id already stored means the first attempt committed after all. */
function alreadyStored(error: PgError): boolean {
  return error.code === '23505' && error.constraint === 'audit_events_id';
}

/** FNV-1a: a patient always lands in the same lane. */
function laneOf(patientId: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < patientId.length; i++) hash = Math.imul(hash ^ patientId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}

/** One queue flushed one batch at a time, on its own connection. */
class Lane {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  constructor(
    readonly connection: ReservedConnection,
    private readonly write: (connection: ReservedConnection, records: AuditRecord[]) => Promise<void>,
    private readonly maxBatch: number,
    private readonly settled: () => void,
  ) {}

  get idle(): boolean {
    return this.queue.length === 0 && !this.flushing;
  }

  push(records: AuditRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (batch.length === 0 || rows + this.queue[0].records.length <= this.maxBatch)) {
      const next = this.queue.shift() as Pending;
      rows += next.records.length;
      batch.push(next);
    }
    return batch;
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.take();
    try {
      await this.write(this.connection, batch.flatMap((pending) => pending.records));
      for (const pending of batch) pending.resolve();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const pending of batch) pending.reject(failure);
    } finally {
      this.flushing = false;
      this.schedule();
      this.settled();
    }
  }
}

export class AuditTrail {
  private readonly lanes: Lane[];
  private idleWaiters: (() => void)[] = [];
  private readonly digestSeconds: number;

  constructor(sql: SqlPool, private readonly options: AuditTrailOptions = {}) {
    this.digestSeconds = (options.digestMinutes ?? 0) * 60;
    const write = (connection: ReservedConnection, records: AuditRecord[]) => this.writeWithRetry(connection, records);
    const settled = () => this.settled();
    this.lanes = Array.from({ length: Math.max(1, options.lanes ?? 1) }, () => new Lane(sql.reserve(), write, options.maxBatch ?? 500, settled));
  }

  /** Resolves once every record is committed (each with the other requests' records of its lane's flush). */
  async record(records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byLane = new Map<number, AuditRecord[]>();
    for (const record of records) {
      const lane = laneOf(record.patientId, this.lanes.length);
      byLane.set(lane, [...(byLane.get(lane) ?? []), record]);
    }
    await Promise.all([...byLane].map(([lane, laneRecords]) => this.lanes[lane].push(laneRecords)));
  }

  /** Waits until every queued record is written (used on shutdown). */
  async drain(): Promise<void> {
    if (this.lanes.every((lane) => lane.idle)) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Writes what is queued, then gives the lanes' connections back to the pool (before it is destroyed). */
  async close(): Promise<void> {
    await this.drain();
    await Promise.all(this.lanes.map((lane) => lane.connection.release()));
  }

  private settled(): void {
    if (this.lanes.every((lane) => lane.idle)) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async writeWithRetry(connection: ReservedConnection, records: AuditRecord[]): Promise<void> {
    try {
      await write(connection, records, this.digestSeconds);
    } catch (error) {
      if (!retryable(error as PgError)) throw error;
      await write(connection, records, this.digestSeconds).catch((again: PgError) => {
        if (!alreadyStored(again)) throw again;
      });
    }
    const emergency = records.some((r) => r.columns.purpose === 'ETREAT' || r.columns.purpose === 'BTG');
    this.options.onStored?.({ count: records.length, emergency });
  }
}

/**
 * One statement, so one round trip and its own transaction: `audit_append`
 * (migration 20261126000400) locks the heads in patient order, links each
 * event in batch order, and inserts it with its outbox row. The content goes
 * as text and is stored and hashed byte for byte.
 */
async function write(sql: ReservedConnection, records: AuditRecord[], digestSeconds: number): Promise<void> {
  const rows = records.map((record) => ({
    id: record.event.id,
    patient_id: record.patientId,
    recorded: record.event.recorded,
    ...record.columns,
    content: JSON.stringify(record.event),
  }));
  await sql.query('SELECT audit_append(?::jsonb, ?) AS appended', [JSON.stringify(rows), digestSeconds]);
}
