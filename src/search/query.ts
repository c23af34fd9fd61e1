/**
 * Reads a search's query parameters: the filters (compiled later, per type),
 * the result parameters (`_count`, `_sort`, `_include`, `_revinclude`,
 * `_total`, `_summary`, `_elements`, `_cursor`, `_type`), and the parameters
 * Carnet does not know, which lenient handling drops (listed for the outcome
 * and left out of the self link) and strict handling refuses with a 400
 * naming them. Bad values of result parameters are 400 in both modes.
 * Pure; never touches the database.
 */
import { badRequest, FhirError } from '../kernel/errors';
import { allResourceTypes } from '../kernel/definitions';
import type { QueryParams } from '../kernel/request';
import type { SearchParameterRegistry } from './parameters';
import { isKnownParameter, resultParameterOf } from './known';

export type Handling = 'strict' | 'lenient';
export type TotalMode = 'none' | 'estimate' | 'accurate';
export type SummaryMode = 'true' | 'false' | 'count' | 'data' | 'text';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;
/** Filters and includes one search may hold (each compiles to a subquery). */
export const MAX_PARAMETERS = 100;

export interface IncludeDirective {
  reverse: boolean; // _revinclude
  iterate: boolean;
  sourceType: string; // `*` for `_include=*`
  param: string; // `*` for every reference parameter
  targetType?: string;
  name: string; // `_include:iterate`, for error messages
}

export interface ParsedQuery {
  /** Types named by `_type` (system search), else undefined. */
  types?: string[];
  filters: [string, string][];
  count: number;
  sort?: string;
  includes: IncludeDirective[];
  total: TotalMode;
  summary?: SummaryMode;
  elements?: string[];
  cursor?: string;
  /** The query without dropped parameters, in the client's order. */
  selfQuery: QueryParams;
  /** Parameters ignored under lenient handling. */
  dropped: string[];
}

const SUMMARY = new Set<SummaryMode>(['true', 'false', 'count', 'data', 'text']);
const TOTAL = new Set<TotalMode>(['none', 'estimate', 'accurate']);

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw badRequest(`_count must be a non-negative integer, got '${value}'`, '_count');
  return Math.min(Number(value), MAX_COUNT);
}

function parseTypes(value: string): string[] {
  const types = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const type of types) if (!allResourceTypes().has(type)) throw badRequest(`Unknown resource type '${type}' in _type`, '_type');
  return types;
}

export function parseInclude(registry: SearchParameterRegistry, key: string, value: string): IncludeDirective {
  const [base, modifier] = key.split(':');
  const reverse = base === '_revinclude';
  if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') throw badRequest(`Unknown modifier ':${modifier}' on ${base}`, key);
  const iterate = modifier !== undefined;
  if (value === '*') return { reverse, iterate, sourceType: '*', param: '*', name: key };
  const [sourceType, param, targetType, extra] = value.split(':');
  if (extra !== undefined || !sourceType || !param) throw badRequest(`${base} must be Type:parameter[:targetType], got '${value}'`, key);
  if (!allResourceTypes().has(sourceType)) throw badRequest(`Unknown resource type '${sourceType}' in ${base}`, key);
  if (param !== '*') {
    const def = registry.get(sourceType, param);
    if (!def || def.type !== 'reference') throw badRequest(`'${param}' is not a reference parameter of ${sourceType} (${base})`, key);
    if (targetType !== undefined && def.targets.length > 0 && !def.targets.includes(targetType)) throw badRequest(`'${param}' of ${sourceType} cannot refer to ${targetType} (${base})`, key);
  }
  if (targetType !== undefined && !allResourceTypes().has(targetType)) throw badRequest(`Unknown resource type '${targetType}' in ${base}`, key);
  return { reverse, iterate, sourceType, param, targetType, name: key };
}

/** True when every searched type knows the parameter (system search: every type of the registry). */
function known(registry: SearchParameterRegistry, types: string[], key: string): boolean {
  return types.every((type) => isKnownParameter(registry, type, key));
}

export function parseQuery(registry: SearchParameterRegistry, resourceType: string | undefined, query: QueryParams, handling: Handling): ParsedQuery {
  const parsed: ParsedQuery = { filters: [], count: DEFAULT_COUNT, includes: [], total: 'accurate', selfQuery: [], dropped: [] };
  const typeValue = resourceType === undefined ? query.find(([key]) => key === '_type')?.[1] : undefined;
  if (typeValue !== undefined) parsed.types = parseTypes(typeValue);
  const checkTypes = resourceType ? [resourceType] : parsed.types?.length ? parsed.types : registry.types();
  const unknown: string[] = [];
  const sorts: string[] = [];
  for (const [key, value] of query) {
    const result = resultParameterOf(key);
    if (result === '_type' && resourceType !== undefined) {
      unknown.push(key);
      continue;
    }
    if (result !== undefined) {
      readResultParameter(registry, parsed, result, key, value, sorts);
      parsed.selfQuery.push([key, value]);
      continue;
    }
    if (value === '') continue; // empty parameters are ignored (search.html)
    if (!known(registry, checkTypes, key)) {
      unknown.push(key);
      continue;
    }
    parsed.filters.push([key, value]);
    parsed.selfQuery.push([key, value]);
  }
  if (sorts.length > 0) parsed.sort = sorts.join(',');
  if (parsed.filters.length + parsed.includes.length > MAX_PARAMETERS) throw badRequest(`A search holds at most ${MAX_PARAMETERS} parameters`);
  if (unknown.length > 0 && handling === 'strict') {
    throw FhirError.withIssues(
      400,
      unknown.map((key) => ({ code: 'not-supported', message: `Unknown or unsupported search parameter '${key}'${resourceType ? ` for ${resourceType}` : ''}`, expression: [key] })),
    );
  }
  parsed.dropped = unknown;
  return parsed;
}

function readResultParameter(registry: SearchParameterRegistry, parsed: ParsedQuery, result: string, key: string, value: string, sorts: string[]): void {
  switch (result) {
    case '_count':
      parsed.count = parseCount(value);
      break;
    case '_sort':
      if (value !== '') sorts.push(value);
      break;
    case '_include':
    case '_revinclude':
      parsed.includes.push(parseInclude(registry, key, value));
      break;
    case '_total':
      if (!TOTAL.has(value as TotalMode)) throw badRequest(`_total must be none, estimate or accurate, got '${value}'`, '_total');
      parsed.total = value as TotalMode;
      break;
    case '_summary':
      if (!SUMMARY.has(value as SummaryMode)) throw badRequest(`_summary must be true, false, count, data or text, got '${value}'`, '_summary');
      parsed.summary = value as SummaryMode;
      break;
    case '_elements':
      parsed.elements = value.split(',').map((e) => e.trim()).filter((e) => e !== '');
      break;
    case '_cursor':
      parsed.cursor = value;
      break;
    default:
      break; // _format, _pretty, _type (read above)
  }
}
