/**
 * The one percent-decoder of query strings, form bodies and conditional
 * criteria. Strict: a malformed escape (`%ZZ`, `%E0%A4%A`) or an escape that
 * is not UTF-8 is a 400 naming the parameter — never a U+FFFD searched for.
 */
import { badRequest } from './errors';
import type { QueryParams } from './request';

export interface QueryStringOptions {
  /** `+` stands for a space (HTML forms, and URLs' query as browsers send it). */
  plusAsSpace?: boolean;
  /** The FHIRPath-like place the text came from, for the OperationOutcome (default: the parameter's name). */
  expression?: string;
}

export function parseQueryString(text: string, options: QueryStringOptions = {}): QueryParams {
  const params: QueryParams = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const name = decodeComponent(rawName, options, rawName);
    params.push([name, decodeComponent(rawValue, options, name)]);
  }
  return params;
}

function decodeComponent(raw: string, options: QueryStringOptions, parameter: string): string {
  try {
    return decodeURIComponent(options.plusAsSpace ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    const shown = parameter.slice(0, 60);
    throw badRequest(`malformed percent-encoding in parameter "${shown}" (not UTF-8 or not a %XX escape)`, options.expression ?? shown);
  }
}
