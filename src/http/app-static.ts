/**
 * The patient's web application at `/app/` (CONTRACT §10): the files `npm run build` made
 * (app/, built by vite into APP_DIR, `dist/app` by default), served as they are, and
 * index.html for every other `/app/...` path (the application's own screens). The built
 * folder missing is one log line at start and a 404 OperationOutcome at `/app/`, never a
 * crash. Owns the Content-Security-Policy of those pages (scripts, styles and requests of
 * this origin only; blob: for a document the patient opens). Knows nothing of the API the
 * application calls: it is a client of the public API like any other.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { FhirError } from '../kernel/errors';
import { sendError } from './app';

export const APP_PATH = '/app';

/** The pages' policy: nothing inline, nothing from another origin; a document opened as a blob: URL. */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-src 'self' blob:",
  "object-src 'self' blob:",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface AppStaticOptions {
  /** The built application (index.html and its assets). */
  dir: string;
  logger: Logger;
}

/** Mounts `/app/` (for the composition root's list of mounts). */
export function appStaticRoutes(options: AppStaticOptions): (app: Express) => void {
  const index = path.join(options.dir, 'index.html');
  if (!fs.existsSync(index)) {
    options.logger.warn({ appDir: options.dir }, 'the patient web app is not built (run npm run build): /app/ answers 404');
    return (app) =>
      void app.use(APP_PATH, (req: Request, res: Response) => sendError(res, new FhirError(404, 'not-found', 'the patient web app is not built on this server (npm run build)'), options.logger));
  }
  const files = express.static(options.dir, { index: false, fallthrough: true, maxAge: 0, redirect: false });
  const assets = express.static(path.join(options.dir, 'assets'), { immutable: true, maxAge: '1y', redirect: false });
  return (app) => {
    app.get(APP_PATH, (req, res, next) => (req.originalUrl.split('?')[0] === APP_PATH ? res.redirect(301, `${APP_PATH}/`) : next())); // routing is not strict: /app/ matches too
    app.use(APP_PATH, policy);
    app.use(`${APP_PATH}/assets`, assets, (req: Request, res: Response) => sendError(res, new FhirError(404, 'not-found', 'no such file of the web app'), options.logger)); // hashed names: a missing one is a 404, never index.html
    app.use(APP_PATH, files);
    app.use(APP_PATH, (req: Request, res: Response, next: NextFunction) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index, (error) => error && next(error));
    });
  };
}

function policy(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', APP_CSP);
  next();
}
