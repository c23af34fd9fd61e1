/**
 * One JSON line per request (pino): method, path without query values,
 * status, duration and request id. Never logs tokens, bodies or identifiers' values.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import pinoHttp from 'pino-http';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'carnet' } });
}

/** `/fhir/Patient?identifier=x&name=y` → `/fhir/Patient?identifier&name`. */
export function pathWithoutValues(url: string): string {
  const [path, query] = url.split('?', 2);
  if (!query) return path;
  const keys = query.split('&').map((pair) => pair.split('=')[0]);
  return `${path}?${keys.join('&')}`;
}

const REQUEST_ID = /^[A-Za-z0-9\-_.:]{1,128}$/;

export function requestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({ id: req.id, method: req.method, path: pathWithoutValues(req.url) }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
    customAttributeKeys: { responseTime: 'durationMs' },
    wrapSerializers: false,
  });
}
