/**
 * The searchset of a search of conformance resources (StructureDefinition,
 * SearchParameter, CodeSystem, …, served from the in-memory catalogue):
 * paged by `_count` (default and cap as for stored resources) and `_offset`
 * with self/next/previous links, `_summary` (`count`: the total only) and
 * `_elements` shaped as in every searchset (search/summary.ts). Never reads
 * the database; the catalogue's filters are its own (conformance/catalogue.ts).
 */
import type { Bundle, BundleLink, Resource } from 'fhir/r4';
import { badRequest } from '../../kernel/errors';
import type { QueryParams } from '../../kernel/request';
import { DEFAULT_COUNT, MAX_COUNT } from '../../search/query';
import { elementsParameter, shapeOf, summaryParameter } from '../../search/summary';

function nonNegative(query: QueryParams, name: string, fallback: number): number {
  const value = query.find(([key]) => key === name)?.[1];
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value)) throw badRequest(`${name} must be a non-negative integer, got '${value.slice(0, 20)}'`, name);
  return Number(value);
}

function pageUrl(baseUrl: string, type: string, query: QueryParams, offset: number): string {
  const kept = query.filter(([key]) => key !== '_offset' && key !== '_pretty');
  const search = new URLSearchParams([...kept, ...(offset > 0 ? [['_offset', String(offset)] as [string, string]] : [])]).toString();
  return `${baseUrl}/${type}${search ? `?${search}` : ''}`;
}

export function catalogueBundle(baseUrl: string, type: string, query: QueryParams, resources: Resource[]): Bundle {
  const summary = summaryParameter(query);
  const count = summary === 'count' ? 0 : Math.min(nonNegative(query, '_count', DEFAULT_COUNT), MAX_COUNT);
  const offset = nonNegative(query, '_offset', 0);
  const shape = shapeOf(summary, elementsParameter(query));
  const page = resources.slice(offset, offset + count);
  const link: BundleLink[] = [{ relation: 'self', url: pageUrl(baseUrl, type, query, offset) }];
  if (count > 0 && offset + count < resources.length) link.push({ relation: 'next', url: pageUrl(baseUrl, type, query, offset + count) });
  if (count > 0 && offset > 0) link.push({ relation: 'previous', url: pageUrl(baseUrl, type, query, Math.max(0, offset - count)) });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    link,
    ...(page.length > 0 ? { entry: page.map((resource) => ({ fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`, resource: shape(resource), search: { mode: 'match' as const } })) } : {}),
  };
}
