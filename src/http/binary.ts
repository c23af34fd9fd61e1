/**
 * Raw Binaries over HTTP (CONTRACT §9): the streamed upload and the ITI-68
 * download. Owns:
 * - `POST /fhir/Binary` and `PUT /fhir/Binary/{id}` with the document's own
 *   Content-Type (anything but the JSON and form types): after the token is
 *   verified, the body is streamed into the content store (ContentStaging,
 *   chunks, never whole in memory) — a Content-Length over MAX_BINARY is a 413
 *   before a byte is read, a stream passing it a 413 at once, nothing kept —
 *   then the Binary (contentType, `X-Security-Context` as securityContext, the
 *   pointer instead of `data`) is written through the pipeline like any
 *   create or update: session, access rules, validation, audit. A write that
 *   fails leaves no content behind (discarded; the store's sweep takes what a
 *   crash left);
 * - sending a FhirResponse's `content` (a raw Binary read): Content-Type,
 *   Content-Length, ETag, Last-Modified, `Accept-Ranges: bytes`; one
 *   `Range: bytes=a-b` / `a-` / `-n` → 206 with Content-Range; a range
 *   starting past the end → 416 with a Content-Range of `bytes` star slash size; several
 *   ranges → 200 with the whole content (no multipart); `If-Range` with a
 *   different ETag or date → 200 whole; HEAD → the headers only. Bytes are
 *   written as they are read, waiting for the socket to drain.
 * Knows no access rule: the pipeline decided before anything is sent.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { FhirError } from '../kernel/errors';
import type { FhirRequest, FhirResponse } from '../kernel/request';
import type { Caller } from '../kernel/caller';
import { CONTENT_EXTENSION, type BinaryBody, type ContentStaging } from '../kernel/binary-content';
import { parseQueryString } from '../kernel/query-string';

export interface BinaryUploadDependencies {
  pipeline: { handle(request: FhirRequest, caller: Caller | undefined): Promise<FhirResponse> };
  authenticate: (authorization: string | undefined) => Promise<Caller>;
  contents: ContentStaging;
  maxBinaryBytes: number;
  logger: Logger;
  /** Writes a (JSON) FhirResponse, as the FHIR adapter does (app.ts). */
  send: (res: Response, response: FhirResponse, pretty: boolean) => void;
  /** The one place an error becomes an OperationOutcome (app.ts). */
  fail: (res: Response, error: unknown) => void;
}

/** Bodies the FHIR adapter parses itself (JSON resources, JSON Patch, forms): not raw. */
const PARSED_TYPES = /^application\/(fhir\+json|json|json\+fhir|json-patch\+json|x-www-form-urlencoded)$/i;

/** Whether a request is a raw Binary upload this module takes. */
export function isRawUpload(req: Request): boolean {
  const target = req.method === 'POST' ? /^\/Binary\/?$/ : req.method === 'PUT' ? /^\/Binary\/[^/]+$/ : undefined;
  if (!target || !target.test(req.path)) return false;
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim();
  return mediaType !== '' && !PARSED_TYPES.test(mediaType);
}

/** The `/fhir` middleware taking raw Binary uploads before any body parser; other requests go on. */
export function binaryUploads(deps: BinaryUploadDependencies) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!isRawUpload(req)) {
      next();
      return;
    }
    try {
      await upload(req, res, deps);
    } catch (error) {
      if (error instanceof FhirError && error.status === 413) refuseRest(req, res);
      deps.fail(res, error);
    }
  };
}

async function upload(req: Request, res: Response, deps: BinaryUploadDependencies): Promise<void> {
  const caller = await deps.authenticate(req.headers.authorization);
  const encoding = header(req, 'content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') throw new FhirError(415, 'not-supported', `a raw Binary is sent as its own bytes, without Content-Encoding (${encoding.slice(0, 20)})`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > deps.maxBinaryBytes) {
    throw new FhirError(413, 'too-costly', `the Binary is larger than the server accepts (MAX_BINARY, ${deps.maxBinaryBytes} bytes)`);
  }
  const query = queryOf(req.originalUrl);
  const staged = await deps.contents.stage(req, deps.maxBinaryBytes);
  if (!req.complete) {
    await deps.contents.discard(staged.contentId); // the client went away before the end: never a truncated Binary
    throw new FhirError(400, 'incomplete', 'the upload was interrupted before its end');
  }
  let response: FhirResponse;
  try {
    response = await deps.pipeline.handle(writeRequest(req, query, staged.contentId), caller);
  } catch (error) {
    await deps.contents.discard(staged.contentId);
    throw error;
  }
  if (response.status >= 400) await deps.contents.discard(staged.contentId);
  deps.send(res, response, query.some(([key, value]) => key === '_pretty' && value === 'true'));
}

/** The create or update the upload stands for: the Binary with its pointer, the rest of the request as sent. */
function writeRequest(req: Request, query: [string, string][], contentId: string): FhirRequest {
  const id = /^\/Binary\/([^/]+)$/.exec(req.path)?.[1];
  const context = header(req, 'x-security-context')?.trim();
  const body = {
    resourceType: 'Binary',
    ...(id !== undefined ? { id } : {}),
    contentType: (req.headers['content-type'] ?? '').trim(),
    ...(context ? { securityContext: { reference: context } } : {}),
    _data: { extension: [{ url: CONTENT_EXTENSION, valueString: contentId }] },
  };
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  headers['content-type'] = 'application/fhir+json';
  delete headers['content-length'];
  return { method: req.method as 'POST' | 'PUT', path: id !== undefined ? `Binary/${id}` : 'Binary', query: query.filter(([key]) => key !== '_format'), body, headers };
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function queryOf(url: string): [string, string][] {
  const index = url.indexOf('?');
  return index < 0 ? [] : parseQueryString(url.slice(index + 1), { plusAsSpace: true });
}

/** After a 413 the rest of the body is read and dropped (so the client sees the answer), and the connection closed. */
function refuseRest(req: Request, res: Response): void {
  res.setHeader('Connection', 'close');
  req.resume();
}

// ------------------------------------------------------------------ download

interface ByteRange {
  start: number;
  end: number;
}

/**
 * The range to send: undefined for the whole content (no Range, a Range this
 * server does not serve partially — several ranges, another unit, bad syntax —
 * or an If-Range that no longer matches); 'unsatisfiable' for a range past the end.
 */
export function requestedRange(range: string | undefined, size: number, ifRange: string | undefined, body: Pick<BinaryBody, 'etag' | 'lastModified'>): ByteRange | 'unsatisfiable' | undefined {
  if (!range) return undefined;
  if (ifRange !== undefined && !ifRangeHolds(ifRange.trim(), body)) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return undefined; // invalid: ignored, the whole content
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function ifRangeHolds(ifRange: string, body: Pick<BinaryBody, 'etag' | 'lastModified'>): boolean {
  if (ifRange.startsWith('"')) return ifRange === body.etag; // a strong comparison
  if (ifRange.startsWith('W/')) return false;
  const date = Date.parse(ifRange);
  return !Number.isNaN(date) && Math.floor(date / 1000) === Math.floor(body.lastModified.getTime() / 1000);
}

/** Sends a raw Binary read: status, headers, then the bytes (or the part asked for) as they are read. */
export async function sendContent(req: Request, res: Response, response: FhirResponse, body: BinaryBody): Promise<void> {
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'no-transform'); // never compressed on the way: lengths and ranges are of these bytes
  if (response.status === 304) {
    res.status(304).end();
    return;
  }
  const range = requestedRange(header(req, 'range'), body.size, header(req, 'if-range'), body);
  if (range === 'unsatisfiable') {
    throw new FhirError(416, 'invalid', `the range asked for is outside the Binary (${body.size} bytes)`, undefined, { 'Content-Range': `bytes */${body.size}` });
  }
  const { start, end } = range ?? { start: 0, end: body.size - 1 };
  res.status(range ? 206 : 200);
  res.setHeader('Content-Type', body.contentType);
  res.setHeader('Content-Length', String(Math.max(0, end - start + 1)));
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${body.size}`);
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return;
  }
  try {
    for await (const piece of body.read(start, end)) {
      if (!res.write(piece)) await drained(res);
      if (res.destroyed) return;
    }
  } catch (error) {
    res.destroy(); // headers are out: the client sees a short body, never a whole-looking one
    throw error;
  }
  res.end();
}

function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
