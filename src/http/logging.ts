/**
 * One JSON line per request (pino): method, path without query values,
 * status, duration and request id (`X-Request-Id` echoed when well-formed,
 * else generated); the liveness and readiness probes at debug level (an
 * answer of 500 or more is logged as an error whatever the path). Never logs
 * tokens, bodies or identifiers' values.
 *
 * The line is written when the response has finished (or the connection
 * closed first), through the process's pino logger: no child logger per
 * request, nothing attached to the request.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';

/**
 * The process logger: JSON lines on stdout, written asynchronously (lines
 * logged while a write is in flight go out together in the next one, so a
 * busy server makes one write for many lines; pino flushes what is left on
 * exit). No periodic flush: its timer would keep every logger made (one per
 * test server) and all it reaches alive.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'carnet' } }, pino.destination({ dest: 1, sync: false, minLength: 0 }));
}

/** `/fhir/Patient?identifier=x&name=y` → `/fhir/Patient?identifier&name`. */
export function pathWithoutValues(url: string): string {
  const [path, query] = url.split('?', 2);
  if (!query) return path;
  const keys = query.split('&').map((pair) => pair.split('=')[0]);
  return `${path}?${keys.join('&')}`;
}

const REQUEST_ID = /^[A-Za-z0-9\-_.:]{1,128}$/;
const PROBES = new Set(['/healthz', '/readyz']);

export function requestLogger(logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    const url = req.url ?? '';
    // 'close' comes last for every response, finished (writableFinished) or cut off first
    const log = () => {
      const status = res.writableFinished ? res.statusCode : 499;
      const line = { req: { id, method: req.method, path: pathWithoutValues(url) }, res: { status }, durationMs: Math.round(performance.now() - started) };
      if (status >= 500) logger.error(line, 'request failed');
      else if (PROBES.has(url)) logger.debug(line, 'probe'); // liveness and readiness probes: at debug, not one info line per probe
      else logger.info(line, 'request');
    };
    res.once('close', log);
    next();
  };
}
