/**
 * Which query parameters Carnet knows: the result parameters it handles
 * itself (`_count`, `_sort`, `_include`…), the search parameters of the
 * registry it can compile, and the ones it cannot (`_text`, `_content`,
 * composites…), which a lenient search drops with a warning and a strict one
 * refuses. Pure; never compiles SQL.
 */
import type { SearchParameterRegistry } from './parameters';

/** Result parameters: they shape the answer, not the set of matches. */
export const RESULT_PARAMETERS = new Set(['_count', '_sort', '_include', '_revinclude', '_total', '_summary', '_elements', '_cursor', '_format', '_pretty', '_type']);

/** `_include:iterate` → `_include`. */
export function resultParameterOf(key: string): string | undefined {
  const base = key.split(':', 1)[0];
  return RESULT_PARAMETERS.has(base) ? base : undefined;
}

/** Parameters of every type that are not index-table backed and not supported. */
const UNSUPPORTED = new Set(['_text', '_content', '_query', '_filter', '_list', '_contained', '_containedType']);

/** The code of a parameter key: `subject:Patient.name` → `subject`. */
export function codeOf(key: string): string {
  if (key.startsWith('_has:')) return '_has';
  return key.split(/[:.]/, 1)[0];
}

/** True when `key` names a parameter the registry knows for the type (or a built-in one). */
export function isKnownParameter(registry: SearchParameterRegistry, resourceType: string, key: string): boolean {
  const code = codeOf(key);
  if (code === '_has' || code === '_id' || code === '_lastUpdated') return true;
  if (UNSUPPORTED.has(code)) return false;
  const def = registry.get(resourceType, code);
  return def !== undefined && def.type !== 'composite' && def.type !== 'special' && def.expression !== undefined;
}

