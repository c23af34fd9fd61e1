/**
 * history at instance, type and system level: every version newest first,
 * `_since`, `_at`, `_count`, and a keyset cursor (`_cursor`: a version
 * sequence number, sealed so a link shows no row number) so paging stays
 * correct while new versions arrive.
 * The caller's access predicate is applied to every version row in SQL (at
 * system level it also keeps only the types the caller's scopes read, so a
 * type outside them is absent, not refused), and each version is served
 * without references to what the caller may not see.
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4';
import { badRequest } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import type { Sealer } from '../../kernel/sealed';
import { queryValue, type FhirRequest, type FhirResponse, type QueryParams } from '../../kernel/request';
import { isConformanceType, requireKnownType, requireValidId } from '../../kernel/resource-types';
import type { StoredVersion } from '../../store/resources';
import { checkInstanceScope, checkNamedSpace, unseen } from './read';
import { servedResources } from './responses';

const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;

export async function historyInteraction(request: FhirRequest, session: Session, params: Record<string, string>): Promise<FhirResponse> {
  const { type, id } = params;
  if (type !== undefined) {
    requireKnownType(type);
    if (isConformanceType(type)) throw badRequest(`${type} is served read-only without history`);
    if (id === undefined) session.access.checkScope(type, 'r');
  }
  if (id !== undefined) {
    requireValidId(id);
    await checkInstanceScope(session, type, id, 'r');
    await checkNamedSpace(request, session, type, id);
  }
  const options = parseHistoryParams(request.query, session.pageTokens);
  const access = session.access.readable(type);
  if (id !== undefined && !(await session.store.read(type, id, access))) throw await unseen(session, type, id);
  const versions = await session.store.history({ resourceType: type, id, since: options.since, at: options.at, beforeSeq: options.cursor, count: options.count + 1 }, access);
  const page = versions.slice(0, options.count);
  const path = [type, id, '_history'].filter((part) => part !== undefined).join('/');
  const links: BundleLink[] = [{ relation: 'self', url: linkUrl(session, path, request.query) }];
  if (versions.length > options.count) {
    const next = request.query.filter(([key]) => key !== '_cursor');
    next.push(['_cursor', session.pageTokens.seal({ h: page[page.length - 1].seq })]);
    links.push({ relation: 'next', url: linkUrl(session, path, next) });
  }
  const served = await servedResources(request, session, page.flatMap((version) => (version.content ? [version.content as Resource] : [])));
  let next = 0;
  const entries = page.map((version) => historyEntry(session, version, version.content ? served[next++] : undefined));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'history', link: links, entry: entries };
  return { status: 200, body: bundle };
}

/** One version's entry; `resource`: its served copy (none for a delete). */
function historyEntry(session: Session, version: StoredVersion, resource: Resource | undefined): BundleEntry {
  const url = `${version.resourceType}/${version.id}`;
  const entry: BundleEntry = {
    fullUrl: `${session.baseUrl}/${url}`,
    request: { method: version.method, url: version.method === 'POST' ? version.resourceType : url },
    response: {
      status: version.deleted ? '204' : version.versionId === 1 ? '201' : '200',
      etag: `W/"${version.versionId}"`,
      lastModified: version.lastUpdated.toISOString(),
    },
  };
  if (resource) entry.resource = resource;
  return entry;
}

interface HistoryOptions {
  since?: Date;
  at?: Date;
  count: number;
  cursor?: number;
}

function parseInstant(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ok = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.test(value);
  const date = new Date(value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value);
  if (!ok || Number.isNaN(date.getTime())) throw badRequest(`${name} must be a FHIR instant or date, got "${value.slice(0, 40)}"`, name);
  return date;
}

export function parseHistoryParams(query: QueryParams, pageTokens: Sealer): HistoryOptions {
  const countText = queryValue(query, '_count');
  let count = DEFAULT_COUNT;
  if (countText !== undefined) {
    if (!/^\d{1,7}$/.test(countText)) throw badRequest(`_count must be a non-negative integer, got "${countText.slice(0, 20)}"`, '_count');
    count = Math.min(Math.max(Number(countText), 1), MAX_COUNT);
  }
  const cursorText = queryValue(query, '_cursor');
  return {
    since: parseInstant('_since', queryValue(query, '_since')),
    at: parseInstant('_at', queryValue(query, '_at')),
    count,
    cursor: cursorText === undefined ? undefined : openCursor(cursorText, pageTokens),
  };
}

/** The version sequence number a `_cursor` of ours seals; anything else is a 400. */
function openCursor(text: string, pageTokens: Sealer): number {
  const opened = pageTokens.open(text) as { h?: unknown } | undefined;
  if (typeof opened !== 'object' || opened === null || !Number.isSafeInteger(opened.h)) throw badRequest('invalid _cursor', '_cursor');
  return opened.h as number;
}

function linkUrl(session: Session, path: string, query: QueryParams): string {
  const search = new URLSearchParams(query).toString();
  return `${session.baseUrl}/${path}${search ? `?${search}` : ''}`;
}
