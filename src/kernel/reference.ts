/**
 * The one reference parser of the server: what a reference string points to —
 * a local `Type/id`, a foreign absolute URL, or a canonical. Every form of a
 * reference to a resource of this server is one and the same link (CONTRACT
 * §4.3 step 6): relative `Binary/1`, absolute on our FHIR base
 * (`$BASE_URL/fhir/Binary/1`), versioned (`…/_history/2`), with a query
 * (`Binary/1?_format=json`). A foreign base, a relative path with extra
 * segments or anything malformed is never local. Search indexing and
 * compiling, the access facts and write rules, and identity all ask this
 * module, so one link always meets the same index row and the same rule. Pure.
 */

export interface ParsedReference {
  targetType: string | null;
  targetId: string | null;
  /** Set for anything not on our base: foreign absolute URLs, urn:, canonicals. */
  url: string | null;
}

/** A reference to a resource of this server. */
export interface LocalReference {
  type: string;
  id: string;
  /** The `_history/n` it names, if any. */
  version?: string;
}

const TYPED = /^(?:(.*)\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([^/]+))?$/;
const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;

/** Scheme, host and port compared as URLs compare them (case, default port); the path as Express routes it (case-insensitively). */
function sameBase(prefix: string, base: string): boolean {
  try {
    const [a, b] = [new URL(`${prefix}/`), new URL(`${base}/`)];
    return a.origin === b.origin && a.pathname.toLowerCase() === b.pathname.toLowerCase();
  } catch {
    return false;
  }
}

/** The path of a reference without its query (`?_format=json`); a query is not part of what it names. */
function withoutQuery(value: string): string {
  const mark = value.indexOf('?');
  return mark < 0 ? value : value.slice(0, mark);
}

/** What `reference` names; `baseUrl` is this server's FHIR base (`$BASE_URL/fhir`). */
export function parseReference(reference: string, baseUrl?: string): ParsedReference | undefined {
  const value = reference.trim();
  if (value === '' || value.startsWith('#')) return undefined; // contained resources are not indexed
  const match = TYPED.exec(withoutQuery(value));
  if (!match) return { targetType: null, targetId: null, url: value };
  const [, prefix, targetType, targetId] = match;
  if (prefix === undefined) return { targetType, targetId, url: null };
  const base = baseUrl?.replace(/\/+$/, '');
  if (base && ABSOLUTE.test(prefix) && sameBase(prefix, base)) return { targetType, targetId, url: null };
  if (ABSOLUTE.test(prefix)) return { targetType, targetId, url: value };
  return undefined; // a relative path with extra segments is not a reference we know
}

/** `Type/id` (and version) of a reference to a resource of this server; undefined for any other reference or value. */
export function localReference(reference: unknown, baseUrl?: string): LocalReference | undefined {
  if (typeof reference !== 'string') return undefined;
  const parsed = parseReference(reference, baseUrl);
  if (!parsed || parsed.url !== null || parsed.targetType === null || parsed.targetId === null) return undefined;
  const version = TYPED.exec(withoutQuery(reference.trim()))?.[4];
  return version === undefined ? { type: parsed.targetType, id: parsed.targetId } : { type: parsed.targetType, id: parsed.targetId, version };
}

/** `Type/id` of a local reference, or undefined. */
export function localKey(reference: unknown, baseUrl?: string): string | undefined {
  const local = localReference(reference, baseUrl);
  return local ? `${local.type}/${local.id}` : undefined;
}
