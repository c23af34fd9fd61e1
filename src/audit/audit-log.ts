/**
 * Reads of the stored activity history: one AuditEvent by id, a patient's
 * history page (filters, keyset paging on (recorded, seq)) and its count, a
 * patient's chain in position order and its head. Read-only; the trail is the
 * only writer. Never decides who may read: history.ts checks the caller first;
 * but the events it serves a reader are those the reader's access predicate
 * lets through (none once the patient closed their space, CONTRACT §7) and
 * leave out, in the same SQL, those naming a document hidden from that reader
 * (hidden-events.ts), so pages stay full and counts exact.
 */
import type { AuditEvent } from 'fhir/r4';
import type { Executor, SqlBinding } from '../store/executor';
import type { ChainLink } from './chain';
import { servedEvent, type DocumentView } from './hidden-events';
import type { Cursor, HistoryQuery } from './history-query';

export interface StoredAuditEvent {
  seq: number;
  patientId: string;
  recorded: Date;
  content: AuditEvent;
}

interface EventRow {
  seq: string;
  patient_id: string;
  recorded: Date;
  content: AuditEvent;
}

const fromRow = (row: EventRow): StoredAuditEvent => ({ seq: Number(row.seq), patientId: row.patient_id, recorded: row.recorded, content: row.content });

/** `Practitioner/P`, `P` (any agent type) or a client id, matched against the stored agent column. */
function agentKeys(value: string): string[] {
  if (value.includes('/')) return [value.replace(/^.*\/([A-Za-z]+\/[^/]+)$/, '$1')];
  return [value, `Practitioner/${value}`, `RelatedPerson/${value}`, `Patient/${value}`, `client:${value}`];
}

export interface HistoryPage {
  events: StoredAuditEvent[];
  next?: Cursor;
  total?: number;
}

export class AuditLog {
  constructor(private readonly db: Executor) {}

  /** The event `id`, when the view's reader is served it. */
  async read(id: string, view: DocumentView): Promise<StoredAuditEvent | undefined> {
    const served = servedEvent(view, 'e');
    const result = await this.db.query<EventRow>(`SELECT seq, patient_id, recorded, content FROM audit_events e WHERE id = ? AND ${served.sql}`, [id, ...served.bindings]);
    return result.rows[0] ? fromRow(result.rows[0]) : undefined;
  }

  /** One page of patient X's history as the view's reader is served it, newest first unless `descending` is false. */
  async history(patientId: string, query: HistoryQuery, view: DocumentView): Promise<HistoryPage> {
    const served = servedEvent(view, 'e');
    const where: string[] = ['patient_id = ?', served.sql];
    const bindings: SqlBinding[] = [patientId, ...served.bindings];
    for (const bound of query.dates) {
      if (bound.op === 'ne') {
        where.push('NOT (recorded >= ? AND recorded < ?)');
        bindings.push(bound.lo, bound.hi ?? bound.lo);
      } else {
        where.push(`recorded ${bound.op} ?`);
        bindings.push(bound.lo);
      }
    }
    const anyOf = (column: string, groups: (string[] | number[])[]) => {
      for (const values of groups) {
        where.push(`${column} = ANY(?)`);
        bindings.push(values);
      }
    };
    anyOf('id', query.ids);
    anyOf('agent', query.agents.map((values) => values.flatMap(agentKeys)));
    anyOf('action', query.actions);
    anyOf('subtype', query.subtypes);
    anyOf('outcome', query.outcomes.map((values) => values.map(Number)));
    const filter = where.join(' AND ');
    const filterBindings = [...bindings];
    const order = query.descending ? 'DESC' : 'ASC';
    if (query.cursor) {
      where.push(`(recorded, seq) ${query.descending ? '<' : '>'} (?, ?)`);
      bindings.push(query.cursor.recorded, query.cursor.seq);
    }
    const result = await this.db.query<EventRow>(
      `SELECT seq, patient_id, recorded, content FROM audit_events e WHERE ${where.join(' AND ')} ORDER BY recorded ${order}, seq ${order} LIMIT ?`,
      [...bindings, query.count + 1],
    );
    const events = result.rows.slice(0, query.count).map(fromRow);
    const last = events[events.length - 1];
    const page: HistoryPage = { events };
    if (result.rows.length > query.count && last) page.next = { recorded: last.recorded, seq: last.seq };
    if (query.total) {
      const counted = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events e WHERE ${filter}`, filterBindings);
      page.total = Number(counted.rows[0].n);
    }
    return page;
  }

  /** How many of X's events the view's reader is served (those before chain position `before`, when given). */
  async count(patientId: string, view: DocumentView, before?: number): Promise<number> {
    const served = servedEvent(view, 'e');
    const counted = await this.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM audit_events e WHERE patient_id = ? AND position < ? AND ${served.sql}`,
      [patientId, before ?? Number.MAX_SAFE_INTEGER, ...served.bindings],
    );
    return Number(counted.rows[0].n);
  }

  /** Up to `limit` links of X's chain after `afterPosition`, in position order. */
  async chain(patientId: string, afterPosition: number, limit: number): Promise<ChainLink[]> {
    const result = await this.db.query<{ id: string; position: string; prev_hash: string; hash: string; content: string }>(
      'SELECT id, position, prev_hash, hash, content::text AS content FROM audit_events WHERE patient_id = ? AND position > ? ORDER BY position LIMIT ?',
      [patientId, afterPosition, limit],
    );
    return result.rows.map((row) => ({ id: row.id, position: Number(row.position), prevHash: row.prev_hash, hash: row.hash, content: row.content }));
  }

  async head(patientId: string): Promise<{ position: number; hash: string } | undefined> {
    const result = await this.db.query<{ position: string; hash: string }>('SELECT position, hash FROM audit_heads WHERE patient_id = ?', [patientId]);
    const row = result.rows[0];
    return row ? { position: Number(row.position), hash: row.hash } : undefined;
  }
}
