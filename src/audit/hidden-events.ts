/**
 * The events a reader of X's activity history is not served (CONTRACT §6,
 * §4.2): an AuditEvent about a document that reader may not see —
 * INVISIBLE_PATIENT for X and X's legal representatives,
 * INVISIBLE_REPRESENTANTS_LEGAUX for the representatives — is left out whole,
 * in the SQL of every read of the history (search, count, paging, read,
 * vread, `$verify-audit`'s count), and its mail to X is held (notify/worker.ts
 * asks `NotificationHolds`).
 *
 * An event is about document D when D is a DocumentReference or Binary of X
 * (or of no patient) that the reader's access predicate hides now, and its id
 * is among the event's `names` (migration 20261202000100: its entities'
 * references and every term of its queries). The predicate decides on the
 * current row, so once the label is removed the event is served again. Never
 * touches the stored events or their chain.
 */
import type { Caller } from '../kernel/caller';
import type { RowPredicate, SqlBinding } from '../kernel/predicate';
import type { Session } from '../kernel/ports';
import type { Executor } from '../store/executor';

/**
 * What the reader may see of the documents an event can name: its access
 * predicates for them; and its predicate for the events themselves
 * (`AuditEvent`, rendered over an `audit_events` row: the audit rule reads
 * only its patient_id — X's own history, and nothing once X closed their
 * space, CONTRACT §7).
 */
export interface DocumentView {
  DocumentReference: RowPredicate;
  Binary: RowPredicate;
  AuditEvent: RowPredicate;
}

const DOCUMENT_TYPES = ['DocumentReference', 'Binary'] as const;

/** The view of a caller whose predicates are `readable` (the policy's, for a given caller). */
export function documentView(readable: (resourceType: string) => RowPredicate): DocumentView {
  return { DocumentReference: readable('DocumentReference'), Binary: readable('Binary'), AuditEvent: readable('AuditEvent') };
}

/** The view of the session's caller (the reader of the history). */
export function readerView(session: Pick<Session, 'access'>): DocumentView {
  return documentView((type) => session.access.readable(type));
}

/** SQL, over the `audit_events` row aliased `event`: TRUE when the view's reader is served it — its own history, naming no document hidden from it. */
export function servedEvent(view: DocumentView, event: string): { sql: string; bindings: SqlBinding[] } {
  const readable = view.AuditEvent.render(event);
  const hidden = namesHiddenDocument(view, event);
  return { sql: `(${readable.sql}) AND NOT ${hidden.sql}`, bindings: [...readable.bindings, ...hidden.bindings] };
}

/** SQL, over the `audit_events` row aliased `event`: TRUE when it names a document hidden from the view's reader. */
export function namesHiddenDocument(view: DocumentView, event: string): { sql: string; bindings: SqlBinding[] } {
  const hidden = DOCUMENT_TYPES.map((type) => {
    const visible = view[type].render('named');
    return { sql: `(named.resource_type = '${type}' AND NOT (${visible.sql}))`, bindings: visible.bindings };
  });
  return {
    sql: `(cardinality(${event}.names) > 0 AND EXISTS (SELECT 1 FROM resources named
      WHERE named.resource_type IN ('DocumentReference', 'Binary') AND named.id = ANY(${event}.names)
        AND (named.patient_id IS NULL OR named.patient_id = ${event}.patient_id)
        AND (${hidden.map((part) => part.sql).join(' OR ')})))`,
    bindings: hidden.flatMap((part) => part.bindings),
  };
}

/** Patient X as the reader of the mails about X (the predicates ask nothing of the scopes). */
function mailReader(patientId: string): Caller {
  return { kind: 'patient', sub: `notifications-${patientId}`, scopes: [], patientId };
}

/**
 * The notification worker's question: which of these events of X may not be
 * mailed to X yet — those naming a document hidden from X. They are held and
 * asked again later (notify/worker.ts), so they go out once it is visible.
 */
export class NotificationHolds {
  constructor(
    private readonly sql: Executor,
    private readonly readable: (caller: Caller, resourceType: string) => RowPredicate,
  ) {}

  async heldAmong(patientId: string, auditSeqs: readonly number[]): Promise<Set<number>> {
    if (auditSeqs.length === 0) return new Set();
    const reader = mailReader(patientId);
    const hidden = namesHiddenDocument(documentView((type) => this.readable(reader, type)), 'e');
    const { rows } = await this.sql.query<{ seq: string }>(
      `SELECT e.seq FROM audit_events e WHERE e.patient_id = ? AND e.seq = ANY(?::bigint[]) AND ${hidden.sql}`,
      [patientId, [...auditSeqs], ...hidden.bindings],
    );
    return new Set(rows.map((row) => Number(row.seq)));
  }
}
