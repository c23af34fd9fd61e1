/**
 * `GET /account/export` over HTTP (§7): authenticates the bearer token (the server's own or a
 * trusted provider's, identity/), then streams the caller's export (accounts/export.ts) as one
 * `application/fhir+json` attachment, chunk by chunk with backpressure, each chunk flushed
 * through the compression stream. A refusal before the first byte is an OperationOutcome (the
 * one place in app.ts); a failure after it aborts the connection, so a client never gets a
 * truncated Bundle that looks whole. Never logs the body.
 */
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Caller } from '../kernel/caller';
import { FHIR_JSON } from './negotiation';
import { sendError } from './app';

export interface AccountExportDeps {
  authenticate: (authorization: string | undefined) => Promise<Caller>;
  /** accounts/export.ts SpaceExport. */
  export: { stream(caller: Caller, write: (chunk: string) => Promise<void> | void): Promise<void> };
  logger: Logger;
}

export const EXPORT_FILENAME = 'carnet-export.json';

/** Mounts `GET /account/export` (for the composition root's list of mounts). */
export function accountExportRoutes(deps: AccountExportDeps): (app: Express) => void {
  const route = accountExportRoute(deps);
  return (app) => void app.get('/account/export', route);
}

export function accountExportRoute(deps: AccountExportDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    let started = false;
    try {
      const caller = await deps.authenticate(req.headers.authorization);
      await deps.export.stream(caller, async (chunk) => {
        if (!started) {
          started = true;
          res.status(200);
          res.setHeader('Content-Type', FHIR_JSON);
          res.setHeader('Content-Disposition', `attachment; filename="${EXPORT_FILENAME}"`);
          res.setHeader('Cache-Control', 'no-store');
        }
        await send(res, chunk);
      });
      res.end();
    } catch (error) {
      if (!started) {
        res.setHeader('Cache-Control', 'no-store');
        sendError(res, error, deps.logger);
        return;
      }
      deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'account export aborted after it began');
      res.destroy();
    }
  };
}

/** Writes one chunk, flushes it through compression, and waits while the socket's buffer is full. */
async function send(res: Response, chunk: string): Promise<void> {
  if (res.destroyed) throw new Error('the client closed the connection');
  const more = res.write(chunk);
  (res as Response & { flush?: () => void }).flush?.();
  if (!more) await drained(res);
}

function drained(res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the client closed the connection'));
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
