/**
 * CORS for browser apps (CONTRACT §8), with the `cors` package: an origin of
 * the allow-list (CORS_ORIGINS) gets `Access-Control-Allow-Origin`, its
 * preflights are answered (204, the FHIR methods and request headers) and the
 * headers a FHIR client reads are exposed; any other origin gets no CORS
 * header at all (its preflight goes on to the route, which refuses OPTIONS).
 * Never allows credentials: callers send bearer tokens, not cookies.
 */
import cors from 'cors';
import type { RequestHandler } from 'express';

/** The paths a browser app calls: the FHIR API, the patient's door, SMART discovery. */
export const CORS_PATHS = ['/fhir', '/auth', '/account', '/.well-known'];

export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export const CORS_REQUEST_HEADERS = [
  'Authorization',
  'Content-Type',
  'If-Match',
  'If-None-Match',
  'If-None-Exist',
  'If-Modified-Since',
  'Prefer',
  'X-Purpose-Of-Use',
  'X-Break-Glass-Reason',
  'X-Request-Id',
  'X-Security-Context', // a raw Binary upload's securityContext (http/binary.ts)
  'Range', // ITI-68: a part of a raw Binary
  'If-Range',
];

export const CORS_EXPOSED_HEADERS = ['ETag', 'Location', 'Last-Modified', 'Content-Location', 'X-Request-Id', 'WWW-Authenticate', 'Content-Range', 'Accept-Ranges'];

/** How long a browser may keep a preflight's answer (seconds). */
const PREFLIGHT_MAX_AGE = 600;

/**
 * The CORS middleware for `origins` (`['*']`: any origin), or undefined when
 * the list is empty (no CORS headers anywhere). Every answer varies on
 * `Origin`, so a shared cache never hands one origin's answer to another.
 */
export function corsPolicy(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  const policy = cors({
    origin: anyOrigin ? '*' : (origin, callback) => callback(null, origin !== undefined && allowed.has(origin.toLowerCase()) ? origin : false),
    methods: CORS_METHODS,
    allowedHeaders: CORS_REQUEST_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE,
    optionsSuccessStatus: 204,
  });
  return (req, res, next) => {
    if (!anyOrigin) res.vary('Origin');
    policy(req, res, next);
  };
}
