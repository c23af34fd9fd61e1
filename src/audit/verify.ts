/**
 * `GET /fhir/Patient/{id}/$verify-audit` (CONTRACT §6): recomputes patient
 * X's chain of AuditEvents from the stored rows and answers a Parameters —
 * `result`, `events`, and when the chain is broken `firstBroken` (position,
 * AuditEvent, reason) — with an OperationOutcome saying the same in words.
 *
 * Only X, X's legal representatives and the system clients named in
 * AUDIT_VERIFIERS verify X's chain; anyone else gets exactly the 404 of a
 * patient that does not exist (never a count: it would watch X's accesses);
 * so does everyone once X closed their space (CONTRACT §7: CallerAccess.knownPatients).
 * The chain is always verified whole, but X and the representatives are told
 * only what their history serves them (hidden-events.ts): `events` counts the
 * events they are served, a break's `position` is 1 + the number of served
 * events before it, and it names its AuditEvent only when they are served it.
 * Each verification by someone other than X is itself in X's history.
 */
import type { OperationOutcome, Parameters, ParametersParameter } from 'fhir/r4';
import { informational, notFound, toOperationOutcome } from '../kernel/errors';
import type { Handler, Session } from '../kernel/ports';
import { requireValidId } from '../kernel/resource-types';
import type { Caller } from '../kernel/caller';
import { readsHistoryOf } from '../access/audit-readers';
import type { AuditLog } from './audit-log';
import { BREAK_MESSAGES, ChainWalk, type BreakReason } from './chain';
import { readerView } from './hidden-events';

const PAGE = 1000;

export interface ChainReport {
  patientId: string;
  events: number;
  /** The first broken link; `auditEventId` only where the verifier may be told it. */
  broken?: { reason: BreakReason; position: number; auditEventId?: string };
}

/** Walks X's whole chain, a page at a time. */
export async function verifyChain(log: AuditLog, patientId: string): Promise<ChainReport> {
  const walk = new ChainWalk(patientId);
  let after = 0;
  for (;;) {
    const links = await log.chain(patientId, after, PAGE);
    let intact = true;
    for (const link of links) if (!(intact = walk.next(link))) break;
    if (!intact || links.length < PAGE) break;
    after = links[links.length - 1].position;
  }
  const broken = walk.finish(await log.head(patientId));
  return { patientId, events: walk.count, ...(broken ? { broken } : {}) };
}

/** Who verifies X's chain: a reader of X's history (X, a representative), a listed system client, or nobody. */
function verifierOf(caller: Caller, patientId: string, verifiers: readonly string[]): 'reader' | 'auditor' | undefined {
  if (readsHistoryOf(caller, patientId)) return 'reader';
  return caller.kind === 'system' && verifiers.includes(caller.clientId) ? 'auditor' : undefined;
}

/** The report as X's history serves the reader: the events it serves, a break without what it hides. */
async function asServed(log: AuditLog, session: Session, report: ChainReport): Promise<ChainReport> {
  const view = readerView(session);
  const events = await log.count(report.patientId, view);
  if (!report.broken) return { ...report, events };
  const { reason, position, auditEventId } = report.broken;
  const servedPosition = 1 + (await log.count(report.patientId, view, position));
  const served = auditEventId !== undefined && (await log.read(auditEventId, view)) !== undefined;
  return { patientId: report.patientId, events, broken: { reason, position: servedPosition, ...(served ? { auditEventId } : {}) } };
}

function outcomeOf(report: ChainReport): OperationOutcome {
  if (!report.broken) return informational(`the activity history of Patient/${report.patientId} is intact (${report.events} AuditEvents)`);
  const where = report.broken.auditEventId ? `AuditEvent/${report.broken.auditEventId}` : `Patient/${report.patientId}`;
  return toOperationOutcome([
    {
      severity: 'error',
      code: 'processing',
      message: `the activity history of Patient/${report.patientId} is broken at position ${report.broken.position}: ${BREAK_MESSAGES[report.broken.reason]}`,
      expression: [where],
    },
  ]);
}

export function reportParameters(report: ChainReport): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'result', valueBoolean: report.broken === undefined },
    { name: 'patient', valueReference: { reference: `Patient/${report.patientId}` } },
    { name: 'events', valueInteger: report.events },
  ];
  if (report.broken) {
    const part: ParametersParameter[] = [{ name: 'position', valueInteger: report.broken.position }];
    if (report.broken.auditEventId) part.push({ name: 'auditEvent', valueReference: { reference: `AuditEvent/${report.broken.auditEventId}` } });
    part.push({ name: 'reason', valueCode: report.broken.reason });
    parameter.push({ name: 'firstBroken', part });
  }
  parameter.push({ name: 'outcome', resource: outcomeOf(report) });
  return { resourceType: 'Parameters', parameter };
}

/** `verifiers`: the client ids of AUDIT_VERIFIERS. */
export function verifyAuditHandler(log: AuditLog, verifiers: readonly string[]): Handler {
  return async (request, session, params) => {
    requireValidId(params.id);
    session.audit.named([params.id]); // kept only if X exists: a probe of an unknown id starts no chain
    session.access.checkScope('AuditEvent', 'r');
    const verifier = verifierOf(session.caller, params.id, verifiers);
    if (!verifier || !(await session.access.knownPatients([params.id])).has(params.id)) throw notFound(`Patient/${params.id} is not known`);
    const report = await verifyChain(log, params.id);
    return { status: 200, body: reportParameters(verifier === 'auditor' ? report : await asServed(log, session, report)) };
  };
}
