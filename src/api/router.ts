/**
 * The FHIR route table: every interaction Carnet supports on one screen.
 * Transport-free: takes a FhirRequest, returns a FhirResponse. Batch and
 * transaction entries come back through `route` too, so validation, access
 * control and audit happen once, on every path.
 */
import { FhirError } from '../kernel/errors';
import type { Handler, Session } from '../kernel/ports';
import type { FhirRequest, FhirResponse, Method } from '../kernel/request';

export type { Handler } from '../kernel/ports';

interface Route {
  method: Method;
  pattern: string[]; // literal segments, ':name' captures, '$op' literal operation names
  handler: Handler;
}

export class FhirRouter {
  private readonly routes: Route[] = [];

  add(method: Method, pattern: string, handler: Handler): this {
    this.routes.push({ method, pattern: pattern === '' ? [] : pattern.split('/'), handler });
    return this;
  }

  async route(request: FhirRequest, session: Session): Promise<FhirResponse> {
    const segments = request.path === '' ? [] : request.path.split('/').map(decodeSegment);
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = matchPattern(route.pattern, segments);
      if (!params) continue;
      if (route.method === method) return route.handler(request, session, params);
      allowed.add(route.method);
      if (route.method === 'GET') allowed.add('HEAD');
    }
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ');
      throw new FhirError(405, 'not-supported', `${request.method} is not supported on ${request.path || 'the base'} (allowed: ${allow})`, undefined, { Allow: allow });
    }
    throw new FhirError(404, 'not-found', `no FHIR interaction at ${request.path}`);
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FhirError(400, 'invalid', `malformed path segment ${segment}`);
  }
}

/** Fixed names of the FHIR API: a capture never takes them, so a wrong method on them is a 405. */
const RESERVED_SEGMENTS = new Set(['_history', '_search']);

function matchPattern(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i];
    if (part.startsWith(':')) {
      if (segments[i].startsWith('$') || RESERVED_SEGMENTS.has(segments[i])) return undefined;
      if (part === ':type' && segments[i] === 'metadata') return undefined; // the capabilities, never a type
      params[part.slice(1)] = segments[i];
    } else if (part !== segments[i]) return undefined;
  }
  return params;
}
