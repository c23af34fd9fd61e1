/**
 * `GET /fhir/Patient/{id}/$verify-audit`: recomputes patient X's chain of
 * AuditEvents from the stored rows and answers a Parameters — `result`,
 * `events`, and when the chain is broken `firstBroken` (position, AuditEvent,
 * reason) — with an OperationOutcome saying the same in words. For patient X,
 * X's legal representatives and system clients; practitioners get 403.
 */
import type { OperationOutcome, Parameters, ParametersParameter } from 'fhir/r4';
import { forbidden, informational, toOperationOutcome } from '../kernel/errors';
import type { Handler } from '../kernel/ports';
import { requireValidId } from '../kernel/resource-types';
import type { Caller } from '../kernel/caller';
import type { AuditLog } from './audit-log';
import { BREAK_MESSAGES, ChainWalk, type ChainBreak } from './chain';

const PAGE = 1000;

export interface ChainReport {
  patientId: string;
  events: number;
  broken?: ChainBreak;
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

function mayVerify(caller: Caller, patientId: string): boolean {
  if (caller.kind === 'system') return true;
  return (caller.kind === 'patient' || caller.kind === 'related-person') && caller.patientId === patientId;
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
    const part: ParametersParameter[] = [
      { name: 'position', valueInteger: report.broken.position },
      { name: 'reason', valueCode: report.broken.reason },
    ];
    if (report.broken.auditEventId) part.splice(1, 0, { name: 'auditEvent', valueReference: { reference: `AuditEvent/${report.broken.auditEventId}` } });
    parameter.push({ name: 'firstBroken', part });
  }
  parameter.push({ name: 'outcome', resource: outcomeOf(report) });
  return { resourceType: 'Parameters', parameter };
}

export function verifyAuditHandler(log: AuditLog): Handler {
  return async (request, session, params) => {
    requireValidId(params.id);
    if (!mayVerify(session.caller, params.id)) throw forbidden("only the patient, the patient's legal representatives and system clients verify the activity history");
    session.access.checkScope('AuditEvent', 'r');
    return { status: 200, body: reportParameters(await verifyChain(log, params.id)) };
  };
}
