/**
 * Turns what the router answered for one Bundle entry into the entry of a
 * batch-response or transaction-response (`response.status` "201 Created",
 * location, etag, lastModified, outcome, and the resource), and an entry's
 * error into its OperationOutcome, restated about `Bundle.entry[i]` for a
 * failed transaction. Owns the status texts; never decides an outcome itself.
 * The response Bundle is served whole (`servedEntries`): its entries' resources
 * lose their references to what the caller may not see, by one query for all.
 */
import type { Bundle, BundleEntry, OperationOutcome, Resource } from 'fhir/r4';
import { FhirError, toOperationOutcome, type IssueDetail } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import type { FhirResponse } from '../../kernel/request';
import { entryPath, type EntryPlan } from './entries';

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

export function statusText(status: number): string {
  const reason = REASONS[status];
  return reason ? `${status} ${reason}` : String(status);
}

/** The entry of a successful answer (a HEAD entry answers without the resource). */
export function successEntry(response: FhirResponse, method?: EntryPlan['method']): BundleEntry {
  const headers = response.headers ?? {};
  const body = response.body;
  const entry: BundleEntry = { response: { status: statusText(response.status) } };
  const location = headers.Location;
  if (location) {
    entry.fullUrl = location.replace(/\/_history\/[^/]+$/, '');
    entry.response!.location = location;
  }
  if (headers.ETag) entry.response!.etag = headers.ETag;
  const lastUpdated = body && body.resourceType !== 'OperationOutcome' && location ? body.meta?.lastUpdated : undefined;
  const lastModified = lastUpdated ?? httpDateToInstant(headers['Last-Modified']);
  if (lastModified) entry.response!.lastModified = lastModified;
  if (body?.resourceType === 'OperationOutcome') entry.response!.outcome = body;
  else if (body && method !== 'HEAD') entry.resource = body as Resource;
  return entry;
}

/**
 * The batch- or transaction-response as served (CONTRACT §4.3 step 7): the
 * resources of its entries (read, searched, written with
 * `Prefer: return=representation`, answered by a conditional create) without
 * references to local resources the caller may not see; one query for all.
 */
export async function servedEntries(session: Session, bundle: Bundle): Promise<Bundle> {
  const entries = bundle.entry ?? [];
  const resources = entries.flatMap((entry) => (entry.resource ? [entry.resource] : []));
  if (resources.length === 0) return bundle;
  const served = await session.access.served(resources, session.baseUrl);
  let next = 0;
  return { ...bundle, entry: entries.map((entry) => (entry.resource ? { ...entry, resource: served[next++] } : entry)) };
}

/** The entry of a failed batch entry: its status and OperationOutcome. */
export function failureEntry(error: FhirError): BundleEntry {
  return { response: { status: statusText(error.status), outcome: toOperationOutcome(error.issues) } };
}

/** An error answered as a response (status ≥ 400 without a throw) restated as a FhirError. */
export function responseError(response: FhirResponse): FhirError {
  const outcome = response.body?.resourceType === 'OperationOutcome' ? (response.body as OperationOutcome) : undefined;
  const issues: IssueDetail[] = (outcome?.issue ?? []).map((issue) => ({
    severity: issue.severity,
    code: issue.code,
    message: issue.diagnostics ?? issue.details?.text ?? statusText(response.status),
    expression: issue.expression,
  }));
  if (issues.length === 0) issues.push({ code: 'processing', message: statusText(response.status) });
  return FhirError.withIssues(response.status, issues);
}

/**
 * A transaction failed at `plan`: the entry's own issues, each stated about
 * the entry (`Bundle.entry[3]: …`), with expressions inside the entry's
 * resource mapped to `Bundle.entry[3].resource…`. Keeps the entry's status.
 */
export function transactionFailure(error: FhirError, plan: EntryPlan): FhirError {
  const at = entryPath(plan.index);
  const resourceType = plan.resource?.resourceType;
  const issues = error.issues.map((issue) => {
    const own = (issue.expression ?? []).filter((expression) => expression.startsWith(`${at}.`) || expression === at);
    const mapped = own.length > 0 ? own : [at, ...(issue.expression ?? []).flatMap((expression) => mapExpression(expression, at, resourceType))];
    const message = issue.message.startsWith(at) ? issue.message : `${at} (${plan.method} ${plan.path}): ${issue.message}`;
    return { ...issue, message, expression: [...new Set(mapped)] };
  });
  return FhirError.withIssues(error.status, issues);
}

/** `Patient.name[0]` or `id` (an element of the entry's resource) → `Bundle.entry[i].resource.…`; others are dropped. */
function mapExpression(expression: string, at: string, resourceType: string | undefined): string[] {
  if (!resourceType) return [];
  if (expression === resourceType || expression.startsWith(`${resourceType}.`) || expression.startsWith(`${resourceType}[`)) {
    return [`${at}.resource${expression.slice(resourceType.length)}`];
  }
  if (/^[a-z][A-Za-z0-9]*([.[]|$)/.test(expression)) return [`${at}.resource.${expression}`];
  return [];
}

function httpDateToInstant(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}
