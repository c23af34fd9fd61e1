/**
 * What a reference string points to: a local `Type/id` (relative, or absolute
 * on our own base), a foreign absolute URL, or a canonical. Shared by the
 * indexer and the compiler so `Patient/1`, `http://ourbase/fhir/Patient/1`
 * and `Patient/1/_history/2` all meet the same index row. Pure.
 */

export interface ParsedReference {
  targetType: string | null;
  targetId: string | null;
  /** Set for anything not on our base: foreign absolute URLs, urn:, canonicals. */
  url: string | null;
}

const TYPED = /^(?:(.*)\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

export function parseReference(reference: string, baseUrl?: string): ParsedReference | undefined {
  const value = reference.trim();
  if (value === '' || value.startsWith('#')) return undefined; // contained resources are not indexed
  const match = TYPED.exec(value);
  if (!match) return { targetType: null, targetId: null, url: value };
  const [, prefix, targetType, targetId] = match;
  if (prefix === undefined) return { targetType, targetId, url: null };
  const base = baseUrl?.replace(/\/+$/, '');
  if (base && prefix === base) return { targetType, targetId, url: null };
  if (/^[a-z][a-z0-9+.-]*:/i.test(prefix)) return { targetType, targetId, url: value };
  return undefined; // a relative path with extra segments is not a reference we know
}
