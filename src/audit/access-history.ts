/**
 * "P has accessed X's space" (CONTRACT §4.2, the administrator precondition):
 * P has had a successful read of any of X's data — an AuditEvent about X with
 * P as agent, outcome 0, and a reading interaction (read, vread, history,
 * search, operation). Answers from the audit tables, through the session's
 * executor; never writes. The one AccessHistory, in production and tests.
 */
import type { AccessHistory } from '../access/access-history';
import type { Executor } from '../store/executor';

export const READING_SUBTYPES: readonly string[] = ['read', 'vread', 'history-instance', 'history-type', 'history-system', 'search-type', 'search-system', 'operation'];

export class AuditAccessHistory implements AccessHistory {
  constructor(private readonly sql: Executor) {}

  async hasAccessed(practitionerId: string, patientId: string): Promise<boolean> {
    const { rows } = await this.sql.query(
      'SELECT 1 FROM audit_events WHERE patient_id = ? AND agent = ? AND outcome = 0 AND subtype = ANY(?::text[]) LIMIT 1',
      [patientId, `Practitioner/${practitionerId}`, [...READING_SUBTYPES]],
    );
    return rows.length > 0;
  }
}
