/**
 * "P has accessed X's space" (CONTRACT §4.2, the administrator
 * precondition; §10 `$access` lists who did): the port the write rules and
 * the document's audience ask. Its one implementation reads the activity
 * history (src/audit/access-history.ts), through the session's executor.
 * Only the questions live here.
 */
import type { RowPredicate } from '../kernel/predicate';

export interface AccessHistory {
  hasAccessed(practitionerId: string, patientId: string): Promise<boolean>;
  /**
   * Ids of the practitioners who had a successful read of X's data, in the
   * events of X's history that a reader whose predicates are `reader` is
   * served (an event about a document hidden from that reader counts for
   * nothing: CONTRACT §6).
   */
  accessors(patientId: string, reader: (resourceType: string) => RowPredicate): Promise<string[]>;
}
