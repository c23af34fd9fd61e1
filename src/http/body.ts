/**
 * Request bodies: size limit (413), content types (415), JSON parsing (400),
 * form bodies checked to decode strictly (400), and a nesting-depth cap so a
 * hostile document cannot exhaust the stack later.
 * Produces the parsed body; never lets a parse error become a 500.
 */
import { badRequest, FhirError } from '../kernel/errors';
import { parseQueryString } from '../kernel/query-string';

const JSON_TYPES = /^application\/(fhir\+json|json|json-patch\+json)$/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded$/i;
const MAX_DEPTH = 100;

export interface ParsedBody {
  body: unknown;
}

/** Parses a raw body according to its Content-Type. */
export function parseBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  if (!raw || raw.length === 0) return undefined;
  const [mediaType, ...parameters] = (contentType ?? 'application/json').split(';').map((part) => part.trim());
  const charset = parameters.find((p) => /^charset=/i.test(p))?.split('=')[1]?.replace(/"/g, '').toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') throw new FhirError(415, 'not-supported', `charset ${charset} is not supported; send UTF-8`);
  if (FORM_TYPE.test(mediaType)) return formBody(raw);
  if (!JSON_TYPES.test(mediaType)) {
    throw new FhirError(415, 'not-supported', `content type ${mediaType.slice(0, 60)} is not supported; send application/fhir+json`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8').replace(/^\uFEFF/, '')); // a UTF-8 byte-order mark is legal before JSON
  } catch (error) {
    throw badRequest(`the body is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  if (depthExceeds(parsed, MAX_DEPTH)) throw badRequest(`the body is nested deeper than ${MAX_DEPTH} levels`);
  return parsed;
}

/**
 * A form body (`POST …/_search`) is kept as text for the interactions, once it is known to be
 * UTF-8 and to decode strictly: a malformed escape is a 400 naming the parameter, never U+FFFD.
 */
function formBody(raw: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw badRequest('the form body is not UTF-8');
  }
  parseQueryString(text, { plusAsSpace: true });
  return text;
}

/** Iterative depth check (no recursion, so it cannot overflow itself). */
export function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
