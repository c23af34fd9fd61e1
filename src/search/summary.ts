/**
 * `_summary` and `_elements` (search.html#summary, #elements): which
 * top-level elements of a resource a searchset returns. Summary elements come
 * from the base StructureDefinitions (`isSummary`), mandatory ones from `min`.
 * A trimmed resource is tagged SUBSETTED. Pure: works on copies, never on a
 * stored resource.
 */
import type { Resource } from 'fhir/r4';
import { baseStructureDefinitions } from '../kernel/definitions';
import type { SummaryMode } from './query';
import { badRequest } from '../kernel/errors';

interface TopElement {
  name: string;
  choice: boolean;
  summary: boolean;
  mandatory: boolean;
}

export const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };

let byType: Map<string, TopElement[]> | undefined;

function topElements(resourceType: string): TopElement[] {
  if (!byType) {
    byType = new Map();
    for (const sd of baseStructureDefinitions()) {
      if (sd.kind !== 'resource') continue;
      const elements: TopElement[] = [];
      for (const element of sd.snapshot?.element ?? []) {
        const parts = element.path.split('.');
        if (parts.length !== 2) continue;
        const choice = parts[1].endsWith('[x]');
        elements.push({ name: choice ? parts[1].slice(0, -3) : parts[1], choice, summary: element.isSummary === true, mandatory: (element.min ?? 0) > 0 });
      }
      byType.set(sd.type, elements);
    }
  }
  return byType.get(resourceType) ?? [];
}

/** True when JSON key `key` (or its `_key` extension twin) holds element `element`. */
function holds(element: TopElement, key: string): boolean {
  const bare = key.startsWith('_') ? key.slice(1) : key;
  if (bare === element.name) return true;
  return element.choice && bare.startsWith(element.name) && /^[A-Z]/.test(bare.slice(element.name.length));
}

function keep(resource: Resource, wanted: (key: string) => boolean): Resource {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) if (key === 'resourceType' || key === 'id' || key === 'meta' || wanted(key)) out[key] = value;
  const meta = (out.meta ?? {}) as NonNullable<Resource['meta']>;
  const tags = (meta.tag ?? []).filter((tag) => !(tag.system === SUBSETTED.system && tag.code === SUBSETTED.code));
  out.meta = { ...meta, tag: [...tags, SUBSETTED] };
  return out as unknown as Resource;
}

/** The resource as `_summary` asks (`true`, `text`, `data`; `false`/`count`/undefined: unchanged). */
export function summarize(resource: Resource, mode: SummaryMode | undefined): Resource {
  const elements = topElements(resource.resourceType);
  switch (mode) {
    case 'true':
      return keep(resource, (key) => elements.some((e) => e.summary && holds(e, key)));
    case 'text':
      return keep(resource, (key) => key === 'text' || elements.some((e) => e.mandatory && holds(e, key)));
    case 'data':
      return 'text' in resource ? keep(resource, (key) => key !== 'text') : resource;
    default:
      return resource;
  }
}

/** The resource with only the `_elements` named (plus id and meta); `Type.element` is accepted too. */
export function selectElements(resource: Resource, names: string[]): Resource {
  const wanted = names.map((name) => (name.startsWith(`${resource.resourceType}.`) ? name.slice(resource.resourceType.length + 1) : name));
  const elements = topElements(resource.resourceType).filter((e) => wanted.includes(e.name));
  return keep(resource, (key) => elements.some((e) => holds(e, key)));
}

/**
 * The shape `_summary` and `_elements` ask of a resource: `_elements` applies
 * when `_summary` is absent or `false` (search.html#elements); both absent:
 * unchanged. Used by searchsets and by read and vread (http.html#read).
 */
export function shapeOf(summary: SummaryMode | undefined, elements: string[] | undefined): (resource: Resource) => Resource {
  const useElements = elements !== undefined && elements.length > 0 && (summary === undefined || summary === 'false');
  return (resource) => (useElements ? selectElements(resource, elements) : summarize(resource, summary));
}

const SUMMARY_MODES = new Set<string>(['true', 'false', 'count', 'data', 'text']);

/** `_summary` of a query, validated (400 for a value the spec does not define). */
export function summaryParameter(query: readonly (readonly [string, string])[]): SummaryMode | undefined {
  const value = query.find(([key]) => key === '_summary')?.[1];
  if (value === undefined) return undefined;
  if (!SUMMARY_MODES.has(value)) throw badRequest(`_summary must be true, false, count, data or text, got '${value.slice(0, 40)}'`, '_summary');
  return value as SummaryMode;
}

/** `_elements` of a query, split on commas. */
export function elementsParameter(query: readonly (readonly [string, string])[]): string[] | undefined {
  return query.find(([key]) => key === '_elements')?.[1]?.split(',').map((e) => e.trim()).filter((e) => e !== '');
}
