/**
 * "P has accessed X's space" (CONTRACT §4.2, the administrator precondition):
 * P has had a successful read of any of X's data — an AuditEvent about X with
 * P as agent, outcome 0, and a reading interaction (read, vread, history,
 * search, operation). Answers from the audit tables, through the session's
 * executor; never writes. The one AccessHistory, in production and tests.
 * `accessors` (CONTRACT §10 `$access`) counts only the events its reader is
 * served (hidden-events.ts), so it never tells of an event the history hides.
 */
import type { AccessHistory } from '../access/access-history';
import type { RowPredicate } from '../kernel/predicate';
import type { Executor } from '../store/executor';
import { documentView, servedEvent } from './hidden-events';

export const READING_SUBTYPES: readonly string[] = ['read', 'vread', 'history-instance', 'history-type', 'history-system', 'search-type', 'search-system', 'operation'];

const PRACTITIONER = 'Practitioner/';

export class AuditAccessHistory implements AccessHistory {
  constructor(private readonly sql: Executor) {}

  async hasAccessed(practitionerId: string, patientId: string): Promise<boolean> {
    const { rows } = await this.sql.query(
      'SELECT 1 FROM audit_events WHERE patient_id = ? AND agent = ? AND outcome = 0 AND subtype = ANY(?::text[]) LIMIT 1',
      [patientId, `Practitioner/${practitionerId}`, [...READING_SUBTYPES]],
    );
    return rows.length > 0;
  }

  async accessors(patientId: string, reader: (resourceType: string) => RowPredicate): Promise<string[]> {
    const served = servedEvent(documentView(reader), 'event');
    const { rows } = await this.sql.query<{ agent: string }>(
      `SELECT DISTINCT event.agent FROM audit_events event
       WHERE event.patient_id = ? AND event.outcome = 0 AND event.subtype = ANY(?::text[]) AND starts_with(event.agent, ?) AND ${served.sql}
       ORDER BY 1`,
      [patientId, [...READING_SUBTYPES], PRACTITIONER, ...served.bindings],
    );
    return rows.map((row) => row.agent.slice(PRACTITIONER.length));
  }
}
