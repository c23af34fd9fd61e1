/**
 * Reads the entries of a batch or transaction Bundle into plans: method, path
 * and query of `entry.request.url`, the conditional headers, the resource and
 * the fullUrl, each checked once (400 naming `Bundle.entry[i]…`). Also the
 * processing order (the spec's, Patients written first) and what each entry modifies, so a transaction can
 * refuse two entries touching one resource. Pure: never touches the store.
 */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { badRequest, FhirError } from '../../kernel/errors';
import { criteriaKey, type Method, type QueryParams } from '../../kernel/request';
import { parseQueryString } from '../../kernel/query-string';

export { criteriaKey } from '../../kernel/request';

export type BundleKind = 'batch' | 'transaction';

export interface EntryPlan {
  index: number;
  method: Method;
  /** Path below the FHIR base, no leading or trailing slash. */
  path: string;
  query: QueryParams;
  /** Request headers from ifMatch, ifNoneMatch, ifNoneExist, ifModifiedSince. */
  headers: Record<string, string>;
  resource?: Resource;
  fullUrl?: string;
  /** `Type` of the path's first segment. */
  type: string;
  /** The id in the path (`Type/id`), if any. */
  id?: string;
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** DELETE, then POST, then PUT/PATCH, then GET/HEAD (http.html#trules). */
const PHASE: Record<Method, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/**
 * The phase an entry runs in: the spec's (PHASE), except that Patients created (POST) or written
 * (PUT) go right after the DELETEs, before the entries that may submit data to them — a
 * submission needs an existing Patient (access/write-rules.ts). Ids and conditional targets are
 * fixed before any entry runs, so the outcome is the one of the spec's order.
 */
function phaseOf(plan: EntryPlan): number {
  if (plan.type !== 'Patient') return PHASE[plan.method];
  return plan.method === 'POST' ? 0.25 : plan.method === 'PUT' ? 0.5 : PHASE[plan.method];
}

export function entryPath(index: number): string {
  return `Bundle.entry[${index}]`;
}

/** Checks the Bundle itself: a Bundle of type batch or transaction. */
export function requireBundleKind(body: unknown): { bundle: Bundle; kind: BundleKind } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('POST to the base takes a Bundle of type batch or transaction');
  const bundle = body as Bundle;
  if (bundle.resourceType !== 'Bundle') throw badRequest(`POST to the base takes a Bundle, not ${String(bundle.resourceType).slice(0, 64)}`, 'resourceType');
  if (bundle.type === undefined) throw badRequest('the Bundle has no type; batch or transaction expected', 'Bundle.type');
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest(`a Bundle of type "${String(bundle.type).slice(0, 40)}" cannot be processed; batch or transaction expected`, 'Bundle.type');
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw badRequest('Bundle.entry must be an array', 'Bundle.entry');
  return { bundle, kind: bundle.type };
}

/**
 * Plans one entry; throws a 400 naming the entry when it cannot be processed.
 * A transaction resolves references through fullUrls, so there they must be
 * absolute URLs or urn:uuid:/urn:oid:; a batch ignores them.
 */
export function planEntry(entry: BundleEntry, index: number, baseUrl: string, kind: BundleKind): EntryPlan {
  const at = entryPath(index);
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw badRequest(`${at} is not an object`, at);
  const request = entry.request;
  if (typeof request !== 'object' || request === null) throw badRequest(`${at} has no request (method and url)`, `${at}.request`);
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
  if (!METHODS.has(method)) throw badRequest(`${at}.request.method must be GET, HEAD, POST, PUT, PATCH or DELETE`, `${at}.request.method`);
  if (typeof request.url !== 'string' || request.url.trim() === '') throw badRequest(`${at}.request.url is missing`, `${at}.request.url`);
  const { path, query } = parseEntryUrl(request.url.trim(), baseUrl, `${at}.request.url`);
  const segments = path === '' ? [] : path.split('/');
  const plan: EntryPlan = { index, method: method as Method, path, query, headers: conditionalHeaders(request), type: segments[0] ?? '', id: undefined };
  if (segments.length >= 2 && !segments[1].startsWith('$') && segments[1] !== '_history' && segments[1] !== '_search') plan.id = segments[1];
  if (entry.fullUrl !== undefined && kind === 'transaction') plan.fullUrl = requireFullUrl(entry.fullUrl, at);
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const resource = entry.resource;
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource) || typeof resource.resourceType !== 'string') {
      throw badRequest(`${at} (${method}) needs a resource`, `${at}.resource`);
    }
    plan.resource = resource;
  }
  if (path === '' && method !== 'GET' && method !== 'HEAD') throw badRequest(`${at}: ${method} to the base (a nested batch or transaction) is not allowed`, `${at}.request.url`);
  if (method === 'PUT' && plan.id === undefined && query.length === 0) {
    throw badRequest(`${at}: PUT needs ${plan.type}/[id] or ${plan.type}?[criteria], got "${request.url.slice(0, 80)}"`, `${at}.request.url`);
  }
  if ((method === 'PATCH' || method === 'DELETE') && segments.length === 1 && query.length === 0) {
    throw badRequest(`${at}: ${method} needs ${plan.type}/[id] or ${plan.type}?[criteria]`, `${at}.request.url`);
  }
  return plan;
}

function conditionalHeaders(request: NonNullable<BundleEntry['request']>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (typeof request.ifMatch === 'string') headers['if-match'] = request.ifMatch;
  if (typeof request.ifNoneMatch === 'string') headers['if-none-match'] = request.ifNoneMatch;
  if (typeof request.ifNoneExist === 'string') headers['if-none-exist'] = request.ifNoneExist;
  if (typeof request.ifModifiedSince === 'string') headers['if-modified-since'] = request.ifModifiedSince;
  return headers;
}

/** `Patient/1?x=y`, `/Patient`, or `${baseUrl}/Patient/1` → path and query; other absolute URLs → 400. */
export function parseEntryUrl(url: string, baseUrl: string, expression: string): { path: string; query: QueryParams } {
  let relative = url;
  const base = baseUrl.replace(/\/+$/, '');
  if (relative === base || relative.startsWith(`${base}/`) || relative.startsWith(`${base}?`)) relative = relative.slice(base.length);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(relative)) throw badRequest(`${expression} "${url.slice(0, 80)}" is not on this server`, expression);
  const mark = relative.indexOf('?');
  const path = (mark < 0 ? relative : relative.slice(0, mark)).replace(/^\/+|\/+$/g, '');
  const query = mark < 0 ? [] : parseQueryText(relative.slice(mark + 1), expression).filter(([key]) => key !== '_format'); // as the HTTP adapter does
  return { path, query };
}

/** A query string without `+`-as-space folding (values in bundles are rarely form-encoded). */
export function parseQueryText(text: string, expression: string): QueryParams {
  return parseQueryString(text, { expression });
}

function requireFullUrl(fullUrl: unknown, at: string): string {
  if (typeof fullUrl !== 'string' || fullUrl === '') throw badRequest(`${at}.fullUrl must be a non-empty string`, `${at}.fullUrl`);
  const ok = /^urn:uuid:[A-Za-z0-9\-.]{1,64}$/.test(fullUrl) || /^urn:oid:[0-9]+(\.[0-9]+)*$/.test(fullUrl) || /^https?:\/\/\S+$/.test(fullUrl);
  if (!ok) throw badRequest(`${at}.fullUrl "${fullUrl.slice(0, 80)}" must be an absolute URL, urn:uuid: or urn:oid:`, `${at}.fullUrl`);
  return fullUrl;
}

/** Entry indexes in the order a transaction processes them. */
export function processingOrder(plans: EntryPlan[]): EntryPlan[] {
  return linksFirst([...plans].sort((a, b) => phaseOf(a) - phaseOf(b) || a.index - b.index));
}

/**
 * A create another create links to comes before it: a document's attachments
 * (a document may only link a Binary that exists, access/attachment-writes.ts)
 * and a Binary's securityContext. Otherwise the order stays; a cycle keeps it.
 */
function linksFirst(plans: readonly EntryPlan[]): EntryPlan[] {
  const creates = new Map(plans.flatMap((plan) => (plan.method === 'POST' && plan.fullUrl ? [[plan.fullUrl, plan] as const] : [])));
  const ordered: EntryPlan[] = [];
  const placed = new Set<EntryPlan>();
  const place = (plan: EntryPlan, path: ReadonlySet<EntryPlan>) => {
    if (placed.has(plan) || path.has(plan)) return;
    const within = new Set(path).add(plan);
    for (const url of plan.method === 'POST' ? linkedUrls(plan) : []) {
      const target = creates.get(url);
      if (target) place(target, within);
    }
    placed.add(plan);
    ordered.push(plan);
  };
  for (const plan of plans) place(plan, new Set());
  return ordered;
}

/** The references a create's write rules need to exist: a document's attachment urls, a Binary's securityContext. */
function linkedUrls(plan: EntryPlan): string[] {
  const resource = plan.resource as { content?: Array<{ attachment?: { url?: unknown } }>; securityContext?: { reference?: unknown } } | undefined;
  const urls = plan.type === 'DocumentReference' ? (resource?.content ?? []).map((content) => content.attachment?.url) : plan.type === 'Binary' ? [resource?.securityContext?.reference] : [];
  return urls.filter((url): url is string => typeof url === 'string');
}


/**
 * What a planned entry modifies before anything is resolved: `Type/id`, or the
 * criteria of a conditional update/patch/delete/create. Reads modify nothing.
 */
export function plannedTarget(plan: EntryPlan): string | undefined {
  switch (plan.method) {
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
      return plan.id !== undefined ? `${plan.type}/${plan.id}` : criteriaKey(plan.type, plan.query);
    case 'POST': {
      const ifNoneExist = plan.headers['if-none-exist'];
      return ifNoneExist ? criteriaKey(plan.type, parseCriteriaText(ifNoneExist, plan.index)) : undefined;
    }
    default:
      return undefined;
  }
}

/** ifNoneExist as written: `identifier=x|y` or `Patient?identifier=x|y`. */
export function parseCriteriaText(text: string, index: number): QueryParams {
  const criteria = text.includes('?') ? text.slice(text.indexOf('?') + 1) : text;
  return parseQueryText(criteria, `${entryPath(index)}.request.ifNoneExist`);
}

/**
 * Two entries with one fullUrl, or two entries modifying one resource → 400
 * (a transaction must not). Returns what each entry modifies → its index.
 */
export function requireDistinctTargets(plans: EntryPlan[]): Map<string, number> {
  const fullUrls = new Map<string, number>();
  const targets = new Map<string, number>();
  for (const plan of plans) {
    if (plan.fullUrl !== undefined) {
      const first = fullUrls.get(plan.fullUrl);
      if (first !== undefined) throw duplicate(plan.index, `has the same fullUrl as Bundle.entry[${first}] (${plan.fullUrl.slice(0, 80)})`, 'fullUrl');
      fullUrls.set(plan.fullUrl, plan.index);
    }
    const target = plannedTarget(plan);
    if (target !== undefined) claimTarget(targets, target, plan.index);
  }
  return targets;
}

/** Records that entry `index` modifies `target`; 400 when another entry already does. */
export function claimTarget(targets: Map<string, number>, target: string, index: number): void {
  const first = targets.get(target);
  if (first !== undefined && first !== index) throw duplicate(index, `modifies ${target.slice(0, 120)}, which Bundle.entry[${first}] modifies too`, 'request');
  targets.set(target, index);
}

function duplicate(index: number, message: string, element: string): FhirError {
  return badRequest(`${entryPath(index)} ${message}; a transaction may not do both`, `${entryPath(index)}.${element}`);
}
