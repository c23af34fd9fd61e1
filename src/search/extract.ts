/**
 * Index rows of one resource: every search parameter of its type evaluated
 * with FHIRPath (registry.forType) and each value turned into rows of the
 * table of its parameter type. Pure and synchronous, so the single write path
 * and the bulk loader of the benchmark produce the same rows.
 * Skips `_id` and `_lastUpdated` (columns of `resources`), composite and
 * special parameters, and parameters without an expression.
 * `phonetic` rows hold the French Phonex key of each word (phonetic.ts).
 * Never throws on odd data: a value it cannot read is not indexed.
 */
import type { Resource } from 'fhir/r4';
import type { SearchParamDef, SearchParameterRegistry, TypedValue } from './parameters';
import { dateRange, FOREVER_AFTER, FOREVER_BEFORE, type DateRange } from './date-range';
import { normalizeString, truncate } from './text';
import { parseReference } from '../kernel/reference';
import { emptyRows, TABLE_OF_TYPE, type IndexRows } from './tables';
import { isPhonetic, phoneticKeys } from './phonetic';

type Json = Record<string, unknown>;

const COLUMN_PARAMS = new Set(['_id', '_lastUpdated']);

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
const strs = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.length > 0) : []);
const capped = (value: string | null): string | null => (value === null ? null : truncate(value));
const normalizedOrNull = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? normalizeString(value) : null);

function stringParts(value: TypedValue): string[] {
  const v = value.value;
  if (typeof v === 'string') return [v];
  if (!isObject(v)) return [];
  if (value.type === 'HumanName') return [str(v.text), str(v.family), ...strs(v.given), ...strs(v.prefix), ...strs(v.suffix)].filter((s): s is string => s !== null);
  if (value.type === 'Address') {
    return [str(v.text), ...strs(v.line), str(v.city), str(v.district), str(v.state), str(v.postalCode), str(v.country)].filter((s): s is string => s !== null);
  }
  return Object.values(v).flatMap((leaf) => (typeof leaf === 'string' ? [leaf] : strs(leaf)));
}

function tokenParts(value: TypedValue): IndexRows['token'] {
  const v = value.value;
  const row = (system: unknown, code: unknown, text: unknown) => ({ param: '', system: capped(str(system)), code: capped(str(code)), text: normalizedOrNull(text) });
  if (typeof v === 'boolean') return [row(null, String(v), null)];
  if (typeof v === 'string' || typeof v === 'number') return [row(null, String(v), null)];
  if (!isObject(v)) return [];
  switch (value.type) {
    case 'Coding':
      return [row(v.system, v.code, v.display)];
    case 'CodeableConcept': {
      const codings = Array.isArray(v.coding) ? v.coding.filter(isObject).map((c) => row(c.system, c.code, c.display)) : [];
      return str(v.text) ? [...codings, row(null, null, v.text)] : codings;
    }
    case 'Identifier':
      return [row(v.system, v.value, isObject(v.type) ? v.type.text : null)];
    case 'ContactPoint':
      return [row(v.system, v.value, null)];
    default:
      return str(v.code) ? [row(v.system, v.code, v.display)] : [];
  }
}

function referenceParts(value: TypedValue, baseUrl?: string): IndexRows['reference'] {
  const v = value.value;
  if (typeof v === 'string') {
    const parsed = parseReference(v, baseUrl);
    return parsed ? [{ param: '', target_type: parsed.targetType, target_id: parsed.targetId, url: capped(parsed.url), ident_system: null, ident_value: null }] : [];
  }
  if (!isObject(v)) return [];
  const parsed = typeof v.reference === 'string' ? parseReference(v.reference, baseUrl) : undefined;
  const identifier = isObject(v.identifier) ? v.identifier : undefined;
  if (!parsed && !str(identifier?.value)) return [];
  return [
    {
      param: '',
      target_type: parsed?.targetType ?? null,
      target_id: parsed?.targetId ?? null,
      url: capped(parsed?.url ?? null),
      ident_system: capped(str(identifier?.system)),
      ident_value: capped(str(identifier?.value)),
    },
  ];
}

function dateParts(value: TypedValue): DateRange[] {
  const v = value.value;
  if (typeof v === 'string') {
    const range = dateRange(v);
    return range ? [range] : [];
  }
  if (!isObject(v)) return [];
  if (value.type === 'Period' || 'start' in v || 'end' in v) {
    const start = typeof v.start === 'string' ? dateRange(v.start) : undefined;
    const end = typeof v.end === 'string' ? dateRange(v.end) : undefined;
    if (!start && !end) return [];
    return [{ lo: start?.lo ?? FOREVER_BEFORE, hi: end?.hi ?? FOREVER_AFTER }];
  }
  if (value.type === 'Timing') {
    const events = strs(v.event).map(dateRange).filter((r): r is DateRange => r !== undefined);
    const bounds = isObject(v.repeat) && isObject(v.repeat.boundsPeriod) ? dateParts({ type: 'Period', value: v.repeat.boundsPeriod }) : [];
    return [...events, ...bounds];
  }
  return [];
}

const numeric = (value: unknown): string | null => (typeof value === 'number' && Number.isFinite(value) ? String(value) : null);

function numberParts(value: TypedValue): IndexRows['number'] {
  const v = value.value;
  const n = numeric(v);
  if (n !== null) return [{ param: '', lo: n, hi: n }];
  if (isObject(v) && (isObject(v.low) || isObject(v.high))) {
    const lo = isObject(v.low) ? numeric(v.low.value) : null;
    const hi = isObject(v.high) ? numeric(v.high.value) : null;
    if (lo === null && hi === null) return [];
    return [{ param: '', lo: lo ?? '-Infinity', hi: hi ?? 'Infinity' }];
  }
  return [];
}

function quantityParts(value: TypedValue): IndexRows['quantity'] {
  const v = value.value;
  if (!isObject(v)) return [];
  if (value.type === 'Range' || isObject(v.low) || isObject(v.high)) {
    const low = isObject(v.low) ? v.low : undefined;
    const high = isObject(v.high) ? v.high : undefined;
    const unitOf = low ?? high ?? {};
    const lo = numeric(low?.value);
    const hi = numeric(high?.value);
    if (lo === null && hi === null) return [];
    return [{ param: '', system: capped(str(unitOf.system)), code: capped(str(unitOf.code)), unit: capped(str(unitOf.unit)), lo: lo ?? '-Infinity', hi: hi ?? 'Infinity' }];
  }
  const n = numeric(v.value);
  if (n === null) return [];
  if (value.type === 'Money') return [{ param: '', system: 'urn:iso:std:iso:4217', code: capped(str(v.currency)), unit: null, lo: n, hi: n }];
  return [{ param: '', system: capped(str(v.system)), code: capped(str(v.code)), unit: capped(str(v.unit)), lo: n, hi: n }];
}

function uriParts(value: TypedValue): IndexRows['uri'] {
  return typeof value.value === 'string' && value.value.length > 0 ? [{ param: '', uri: truncate(value.value) }] : [];
}

/** Identity of an index row within one parameter (rows of one table share their key order). */
function rowKey(row: object): string {
  let key = '';
  for (const value of Object.values(row)) key += value === null ? '\u0002\u0001' : `${String(value)}\u0001`;
  return key;
}

/** Adds the rows of one parameter's values, once each. */
function addRows(rows: IndexRows, def: SearchParamDef, values: TypedValue[], baseUrl?: string): void {
  const seen = new Set<string>();
  const push = <T extends { param: string }>(target: T[], row: T) => {
    const key = rowKey(row);
    if (seen.has(key)) return;
    seen.add(key);
    target.push({ ...row, param: def.code });
  };
  for (const value of values) {
    switch (def.type) {
      case 'string':
        if (isPhonetic(def)) {
          for (const part of stringParts(value)) for (const key of phoneticKeys(part)) push(rows.string, { param: '', value_normalized: key, value_exact: part });
          break;
        }
        for (const part of stringParts(value)) {
          const normalized = normalizeString(part);
          if (normalized !== '') push(rows.string, { param: '', value_normalized: normalized, value_exact: part });
        }
        break;
      case 'token':
        for (const row of tokenParts(value)) push(rows.token, row);
        break;
      case 'reference':
        for (const row of referenceParts(value, baseUrl)) push(rows.reference, row);
        break;
      case 'date':
        for (const range of dateParts(value)) push(rows.date, { param: '', ...range });
        break;
      case 'number':
        for (const row of numberParts(value)) push(rows.number, row);
        break;
      case 'quantity':
        for (const row of quantityParts(value)) push(rows.quantity, row);
        break;
      case 'uri':
        for (const row of uriParts(value)) push(rows.uri, row);
        break;
    }
  }
}

/** Parameters the indexer evaluates for a type, cached per registry and type. */
const indexedCache = new WeakMap<SearchParameterRegistry, { revision: number; byType: Map<string, SearchParamDef[]> }>();

export function indexedParameters(registry: SearchParameterRegistry, resourceType: string): SearchParamDef[] {
  let cache = indexedCache.get(registry);
  if (!cache || cache.revision !== registry.revision) indexedCache.set(registry, (cache = { revision: registry.revision, byType: new Map() }));
  const byType = cache.byType;
  let defs = byType.get(resourceType);
  if (!defs) {
    defs = registry.forType(resourceType).filter((def) => def.expression && TABLE_OF_TYPE[def.type] && !COLUMN_PARAMS.has(def.code));
    byType.set(resourceType, defs);
  }
  return defs;
}

export function extractRows(registry: SearchParameterRegistry, resource: Resource, baseUrl?: string): IndexRows {
  const rows = emptyRows();
  for (const def of indexedParameters(registry, resource.resourceType)) {
    let values: TypedValue[];
    try {
      values = def.evaluateTyped(resource);
    } catch {
      continue; // an expression that cannot run on this resource indexes nothing
    }
    if (values.length > 0) addRows(rows, def, values, baseUrl);
  }
  return rows;
}
