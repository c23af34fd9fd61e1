/**
 * "P has accessed X's space" (CONTRACT §4.2, the administrator
 * precondition): P has had a successful read of any of X's data, i.e. an
 * AuditEvent of X (resources row of type AuditEvent, patient_id = X) with
 * outcome 0, action R (read, vread, history) or E (search), and an agent
 * whose `who` is Practitioner/P. The audit engineer writes those rows; this
 * module only reads them. Never counts a denied or failed access.
 */
import type { Knex } from 'knex';

export interface AccessHistory {
  hasAccessed(practitionerId: string, patientId: string): Promise<boolean>;
}

export class AuditEventAccessHistory implements AccessHistory {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async hasAccessed(practitionerId: string, patientId: string): Promise<boolean> {
    const agent = JSON.stringify([{ who: { reference: `Practitioner/${practitionerId}` } }]);
    const result = await this.db.raw<{ rows: unknown[] }>(
      `SELECT 1 FROM resources
       WHERE resource_type = 'AuditEvent' AND patient_id = ? AND NOT deleted
         AND content->>'outcome' = '0' AND content->>'action' IN ('R', 'E')
         AND content->'agent' @> ?::jsonb
       LIMIT 1`,
      [patientId, agent],
    );
    return result.rows.length > 0;
  }
}
