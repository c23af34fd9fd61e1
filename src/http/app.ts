/**
 * The Express adapter: turns HTTP into FhirRequests and FhirResponses back
 * into HTTP. Owns security headers, request ids and logs, body limits and
 * parsing, content negotiation, authentication, CORS (cors.ts), response
 * compression (gzip/br, streaming, not for bodies under 1 KB), `_pretty`, and
 * the single place where an error becomes an OperationOutcome. Knows no FHIR
 * semantics itself.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import compression from 'compression';
import type { Logger } from 'pino';
import type { Bundle, Resource } from 'fhir/r4';
import { FhirError, toOperationOutcome } from '../kernel/errors';
import type { FhirResponse } from '../kernel/request';
import type { FhirRequest, Method, QueryParams } from '../kernel/request';
import type { Caller } from '../kernel/caller';
import { parseQueryString } from '../kernel/query-string';
import { parseBody } from './body';
import { FHIR_JSON, requireJsonResponse } from './negotiation';
import { requestLogger } from './logging';
import { CORS_PATHS, corsPolicy } from './cors';
import { binaryUploads, sendContent } from './binary';
import { wantsRawBinary, type ContentStaging } from '../kernel/binary-content';

export interface AppDependencies {
  /** identify → session → audit → route (api/pipeline.ts). */
  pipeline: { handle(request: FhirRequest, caller: Caller | undefined): Promise<FhirResponse> };
  authenticate: (authorization: string | undefined) => Promise<Caller>;
  ready: () => Promise<boolean>;
  logger: Logger;
  maxBodyBytes: number;
  /** Raw Binary uploads (http/binary.ts): streamed into this store, up to MAX_BINARY; absent: Binaries are JSON only. */
  binaries?: { contents: ContentStaging; maxBinaryBytes: number };
  /** CORS_ORIGINS (cors.ts); empty or absent: no CORS headers. */
  corsOrigins?: readonly string[];
  /** Extra non-FHIR routes (accounts, auth), mounted before the FHIR API. */
  mount?: (app: express.Express) => void;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

/** The liveness probe's answer: always the same bytes (no body to serialise, no ETag to hash). */
const HEALTHY = Buffer.from(JSON.stringify({ status: 'ok' }));

/** Bodies smaller than this go uncompressed: the encoding would cost more than it saves. */
const COMPRESSION_THRESHOLD = 1024;

export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', (text: string) => text);
  app.use(requestLogger(deps.logger));
  // the liveness probe answers fixed bytes that no browser renders: before helmet's dozen headers and the compression wrapper
  app.get('/healthz', (_req, res) => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', HEALTHY.length);
    res.end(HEALTHY);
  });
  app.use(helmet());
  const cors = corsPolicy(deps.corsOrigins ?? []);
  if (cors) app.use(CORS_PATHS, cors);
  // the readiness probe answers a few bytes, never compressed: before the compression wrapper
  app.get('/readyz', async (_req, res) => {
    const ok = await deps.ready().catch(() => false);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unavailable' });
  });
  app.use(compressionWhenAccepted(compression({ threshold: COMPRESSION_THRESHOLD })));
  // the FHIR API before the other routes: its requests, nearly all the traffic, test no other route's path
  app.use('/fhir', fhirApi(deps));
  deps.mount?.(app);
  app.use((req: Request, res: Response) => sendError(res, new FhirError(404, 'not-found', `nothing at ${req.path}`), deps.logger));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, error, deps.logger));
  return app;
}

/**
 * The FHIR API under `/fhir`: raw Binary uploads when configured, then every
 * other request as a FhirRequest to the pipeline. The SMART discovery
 * document under the FHIR base (`/fhir/.well-known/…`) is not FHIR: it is
 * left to the routes mounted after the API. A request without a body skips
 * the body parser.
 */
function fhirApi(deps: AppDependencies): express.RequestHandler {
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });
  const answer = async (req: Request, res: Response) => {
    try {
      await handleFhir(req, res, deps);
    } catch (error) {
      sendError(res, error, deps.logger);
    }
  };
  const withBody: express.RequestHandler = (req, res, next) => (hasBody(req) ? raw(req, res, (error?: unknown) => (error ? next(error) : void answer(req, res))) : void answer(req, res));
  let uploads: express.RequestHandler | undefined;
  if (deps.binaries) {
    const { contents, maxBinaryBytes } = deps.binaries;
    const send = (res: Response, response: FhirResponse, pretty: boolean) => {
      res.locals.pretty = pretty;
      sendResponse(res, response);
    };
    uploads = binaryUploads({ ...deps, contents, maxBinaryBytes, send, fail: (res, error) => sendError(res, error, deps.logger) });
  }
  return (req, res, next) => {
    if (req.path.startsWith('/.well-known/')) return next();
    if (!uploads) return withBody(req, res, next);
    void uploads(req, res, (error?: unknown) => (error ? next(error) : withBody(req, res, next)));
  };
}

/** Whether the request carries a body, as the body parser reads it: a Content-Length (0 included) or a Transfer-Encoding. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/**
 * The compression wrapper only for a request that offers an encoding: without
 * `Accept-Encoding` the answer is identity anyway (the wrapper's default), and
 * its per-request proxies of write, end and writeHead cost more than the rest
 * of the middleware together. Caches still learn that answers vary by it.
 */
function compressionWhenAccepted(compress: express.RequestHandler): express.RequestHandler {
  return (req, res, next) => {
    if (req.headers['accept-encoding'] !== undefined) return compress(req, res, next);
    res.vary('Accept-Encoding');
    next();
  };
}

async function handleFhir(req: Request, res: Response, deps: AppDependencies): Promise<void> {
  if (!METHODS.has(req.method)) throw new FhirError(405, 'not-supported', `method ${req.method.slice(0, 20)} is not supported`, undefined, { Allow: [...METHODS].sort().join(', ') });
  const query = parseQuery(req.originalUrl);
  res.locals.pretty = query.some(([key, value]) => key === '_pretty' && value === 'true');
  const path = req.path.replace(/^\/+|\/+$/g, '');
  const format = query.find(([key]) => key === '_format')?.[1];
  const rawBinary = (req.method === 'GET' || req.method === 'HEAD') && /^Binary\/[^/]+(\/_history\/[^/]+)?$/.test(path) && wantsRawBinary(req.headers.accept, format); // ITI-68: the bytes (http/binary.ts)
  if (!rawBinary) requireJsonResponse(format, req.headers.accept);
  const isMetadata = path === 'metadata'; // no token needed: the route table answers GET and 405 (Allow) to other methods
  const caller = isMetadata ? undefined : await deps.authenticate(req.headers.authorization); // its mode is read by the session stage
  const body = parseBody(Buffer.isBuffer(req.body) ? req.body : undefined, req.headers['content-type']);
  const request: FhirRequest = {
    method: req.method as Method,
    path,
    query: query.filter(([key]) => key !== '_format'),
    body,
    headers: { ...flattenHeaders(req.headers), ...(format !== undefined ? { accept: FHIR_JSON } : {}) }, // `_format` overrides Accept
  };
  const response = await deps.pipeline.handle(request, caller);
  if (response.content) return sendContent(req, res, response, response.content);
  sendResponse(res, response);
}

/** A FhirResponse as HTTP: status, headers, the JSON body (none for 204 and 304). */
function sendResponse(res: Response, response: FhirResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  if (response.body === undefined || response.status === 204 || response.status === 304) {
    res.end();
    return;
  }
  sendJson(res, response.body);
}

/** The query of the request line, decoded strictly (kernel/query-string.ts): a malformed escape is a 400. */
function parseQuery(url: string): QueryParams {
  const index = url.indexOf('?');
  return index < 0 ? [] : parseQueryString(url.slice(index + 1), { plusAsSpace: true });
}

function flattenHeaders(headers: Request['headers']): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

/** The JSON body, indented when the request asked `_pretty=true`; its Content-Length also answers a HEAD. */
function sendJson(res: Response, body: Resource): void {
  const text = res.locals.pretty === true ? JSON.stringify(resourceTypeFirst(body), null, 2) : JSON.stringify(resourceTypeFirst(body));
  res.setHeader('Content-Type', FHIR_JSON);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * PostgreSQL's jsonb does not keep key order; readers expect `resourceType`
 * first. Reorders the resource and, in a Bundle, each entry's resource.
 */
function resourceTypeFirst(resource: Resource): Resource {
  const { resourceType, ...rest } = resource;
  const ordered = { resourceType, ...rest } as Resource;
  if (ordered.resourceType === 'Bundle') {
    const bundle = ordered as Bundle;
    bundle.entry = bundle.entry?.map((entry) => (entry.resource ? { ...entry, resource: resourceTypeFirst(entry.resource) } : entry));
  }
  return ordered;
}

/** The one place an error becomes an OperationOutcome. */
export function sendError(res: Response, error: unknown, logger: Logger): void {
  const fhirError = asFhirError(error);
  if (fhirError.status >= 500) logger.error({ err: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) }, 'internal error');
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(fhirError.status);
  for (const [name, value] of Object.entries(fhirError.headers)) res.setHeader(name, value);
  sendJson(res, toOperationOutcome(fhirError.issues));
}

function asFhirError(error: unknown): FhirError {
  if (error instanceof FhirError) return error;
  const status = (error as { status?: number; statusCode?: number })?.status ?? (error as { statusCode?: number })?.statusCode;
  const type = (error as { type?: string })?.type;
  if (type === 'entity.too.large' || status === 413) return new FhirError(413, 'too-costly', 'the request body is larger than the server accepts (MAX_BODY)');
  if (type === 'entity.parse.failed' || type === 'request.aborted' || type === 'request.size.invalid') return new FhirError(400, 'invalid', 'the request body could not be read');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new FhirError(415, 'not-supported', 'unsupported body encoding');
  if (typeof status === 'number' && status >= 400 && status < 500) return new FhirError(status, 'invalid', (error as Error).message ?? 'bad request');
  return new FhirError(500, 'exception', 'internal server error');
}
