/**
 * The activity history through the API (CONTRACT §6, §4.3): `GET
 * /fhir/AuditEvent?patient=Patient/X` (also `POST AuditEvent/_search`), a read
 * and vread by id, and 405 for every write. Only patient X and X's legal
 * representatives read X's history: anyone else is 403 on the search and 404
 * on a read (practitioners never see an AuditEvent). What a reader is served
 * leaves out, whole and in the SQL, every event naming a document hidden from
 * that reader (hidden-events.ts): such an event is absent from pages and
 * totals, and its read or vread is the 404 of an unknown id.
 */
import type { AuditEvent, Bundle, BundleLink } from 'fhir/r4';
import { forbidden, notAllowed, notFound } from '../kernel/errors';
import type { Session } from '../kernel/ports';
import type { Handler, RouteLine } from '../kernel/ports';
import type { FhirRequest, FhirResponse, QueryParams } from '../kernel/request';
import { requireValidId } from '../kernel/resource-types';
import type { Caller } from '../kernel/caller';
import { historyOwnerOf, HISTORY_FORBIDDEN, readsHistoryOf } from '../access/audit-readers';
import type { AuditLog } from './audit-log';
import { cursorParam, parseHistoryQuery } from './history-query';
import { verifyAuditHandler } from './verify';
import { readerView } from './hidden-events';

export { historyOwnerOf, HISTORY_FORBIDDEN } from '../access/audit-readers';

/** The patient searched: the caller's own (named or implied); 403 for anyone else or another patient. */
function searchedPatient(caller: Caller, named: string[]): string {
  const own = historyOwnerOf(caller);
  if (own === undefined || named.some((id) => id !== own)) throw forbidden(HISTORY_FORBIDDEN);
  return own;
}

function link(session: Session, relation: string, params: QueryParams): BundleLink {
  const search = new URLSearchParams(params).toString();
  return { relation, url: `${session.baseUrl}/AuditEvent${search ? `?${search}` : ''}` };
}

function entryOf(session: Session, event: AuditEvent) {
  return { fullUrl: `${session.baseUrl}/AuditEvent/${event.id}`, resource: event, search: { mode: 'match' as const } };
}

export function historySearchHandler(log: AuditLog): Handler {
  return async (request, session) => {
    const query = parseHistoryQuery(request, session.pageTokens);
    session.audit.named(query.patientIds); // a refused search of X's history is audited about X
    const patientId = searchedPatient(session.caller, query.patientIds);
    session.audit.named([patientId]); // a representative's reading of X's history is in it (X's own is not)
    session.access.checkScope('AuditEvent', 's');
    const page = await log.history(patientId, query, readerView(session));
    const echo: QueryParams = query.echo.some(([name]) => name === 'patient' || name === 'patient:Patient') ? query.echo : [['patient', `Patient/${patientId}`], ...query.echo];
    const links: BundleLink[] = [link(session, 'self', query.cursor ? [...echo, cursorParam(query.cursor, session.pageTokens)] : echo)];
    if (page.next) links.push(link(session, 'next', [...echo, cursorParam(page.next, session.pageTokens)]));
    const body: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      ...(page.total !== undefined ? { total: page.total } : {}),
      link: links,
      entry: page.events.map((stored) => entryOf(session, stored.content)),
    };
    return { status: 200, body };
  };
}

/** The event, when this caller is served it; else 404, exactly like an unknown id. */
async function readable(log: AuditLog, request: FhirRequest, session: Session, id: string): Promise<AuditEvent> {
  requireValidId(id);
  session.access.checkScope('AuditEvent', 'r');
  const stored = await log.read(id, readerView(session));
  if (!stored || !readsHistoryOf(session.caller, stored.patientId)) throw notFound(`AuditEvent/${id} is not known`);
  return stored.content;
}

function versionHeaders(session: Session, event: AuditEvent): Record<string, string> {
  return { ETag: 'W/"1"', 'Last-Modified': new Date(event.recorded).toUTCString(), 'Content-Location': `${session.baseUrl}/AuditEvent/${event.id}/_history/1` };
}

export function historyReadHandler(log: AuditLog): Handler {
  return async (request, session, params) => {
    const event = await readable(log, request, session, params.id);
    return { status: 200, body: event, headers: versionHeaders(session, event) };
  };
}

export function historyVreadHandler(log: AuditLog): Handler {
  return async (request, session, params) => {
    const event = await readable(log, request, session, params.id);
    if (params.vid !== '1') throw notFound(`AuditEvent/${params.id}/_history/${params.vid.slice(0, 20)} is not known`);
    return { status: 200, body: event, headers: versionHeaders(session, event) };
  };
}

export function historyInstanceHandler(log: AuditLog): Handler {
  return async (request, session, params) => {
    const event = await readable(log, request, session, params.id);
    const body: Bundle = { resourceType: 'Bundle', type: 'history', total: 1, entry: [{ ...entryOf(session, event), search: undefined, request: { method: 'POST', url: 'AuditEvent' }, response: { status: '201' } }] };
    return { status: 200, body };
  };
}

export const refuseAuditWrite: Handler = async (request: FhirRequest): Promise<FhirResponse> => {
  throw notAllowed(`AuditEvents are recorded by the server and cannot be created, changed or deleted (${request.method} refused)`);
};

/**
 * The activity history routes. They must come before the generic `:type`
 * routes of the route table (api/routes.ts adds them first).
 */
export function auditRoutes(log: AuditLog, options: { verifiers?: readonly string[] } = {}): RouteLine[] {
  const search = historySearchHandler(log);
  const lines: RouteLine[] = [
    { method: 'GET', pattern: 'AuditEvent', handler: search },
    { method: 'POST', pattern: 'AuditEvent/_search', handler: search },
    { method: 'GET', pattern: 'AuditEvent/:id', handler: historyReadHandler(log) },
    { method: 'GET', pattern: 'AuditEvent/:id/_history', handler: historyInstanceHandler(log) },
    { method: 'GET', pattern: 'AuditEvent/:id/_history/:vid', handler: historyVreadHandler(log) },
    { method: 'GET', pattern: 'Patient/:id/$verify-audit', handler: verifyAuditHandler(log, options.verifiers ?? []) },
  ];
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) lines.push({ method, pattern: 'AuditEvent', handler: refuseAuditWrite });
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) lines.push({ method, pattern: 'AuditEvent/:id', handler: refuseAuditWrite });
  return lines;
}
