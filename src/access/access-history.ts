/**
 * "P has accessed X's space" (CONTRACT §4.2, the administrator
 * precondition): the port the write rules ask. Its one implementation reads
 * the activity history (src/audit/access-history.ts), through the session's
 * executor. Only the question lives here.
 */
export interface AccessHistory {
  hasAccessed(practitionerId: string, patientId: string): Promise<boolean>;
}
