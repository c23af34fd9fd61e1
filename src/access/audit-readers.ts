/**
 * Who reads a patient's activity history (CONTRACT §4.3, §6): patient X and
 * X's legal representatives read X's AuditEvents; nobody else does —
 * practitioners never, system clients never (the insurer included). The one
 * statement of the rule: the decision (decision.ts), the policy's search
 * check (policy.ts), and the activity history's search, read and
 * `$verify-audit` (src/audit/history.ts, verify.ts) all ask it; the SQL form
 * (sql.ts, rule class `audit`) is its translation and the property test holds
 * the two together.
 */
import type { Caller } from '../kernel/caller';

export const HISTORY_FORBIDDEN = "only the patient and the patient's legal representatives read the patient's activity history";

/** The patient whose history this caller reads: X for patient X and X's legal representatives, else none. */
export function historyOwnerOf(caller: Caller): string | undefined {
  return caller.kind === 'patient' || caller.kind === 'related-person' ? caller.patientId : undefined;
}

/** May this caller read the AuditEvents of `patientId`? */
export function readsHistoryOf(caller: Caller, patientId: string | null): boolean {
  return patientId !== null && historyOwnerOf(caller) === patientId;
}
