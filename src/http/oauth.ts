/**
 * The systems' door over HTTP (CONTRACT §8): `POST /auth/token` (form-encoded or JSON
 * parameters → the token endpoint's answer), `GET /auth/jwks` (the server's public keys) and
 * SMART discovery at `/.well-known/smart-configuration` and `/fhir/.well-known/smart-configuration`.
 *
 * Owns reading the token request's body into parameters (each given once, as strings) and the
 * OAuth answers' headers (`Cache-Control: no-store`, `Pragma: no-cache`); every refusal of the
 * token endpoint, a body it cannot read included, is OAuth JSON, never an OperationOutcome.
 * Knows no OAuth rule itself (src/identity/token-endpoint.ts); never logs a body.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';

/** The identity side, as this adapter calls it (src/identity/backend-services.ts, wired by server.ts). */
export interface OAuthPorts {
  /** Answers a token request; `params` undefined when the body holds no readable parameters. */
  token(params: Record<string, string> | undefined): Promise<{ status: number; body: unknown }>;
  smartConfiguration: object;
  jwks: object;
  logger: Logger;
}

const TOKEN_BODY_LIMIT = '64kb';

export function oauthRoutes(ports: OAuthPorts): (app: express.Express) => void {
  return (app) => {
    app.post('/auth/token', express.raw({ type: () => true, limit: TOKEN_BODY_LIMIT }), async (req: Request, res: Response) => {
      noStore(res);
      try {
        const answer = await ports.token(tokenParams(req));
        res.status(answer.status).json(answer.body);
      } catch (error) {
        ports.logger.error({ err: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) }, 'token endpoint failed');
        res.status(500).json({ error: 'server_error', error_description: 'the token could not be issued' });
      }
    }, unreadableBody);
    app.get('/auth/jwks', (_req, res) => void res.json(ports.jwks));
    const discovery = (_req: Request, res: Response) => void res.json(ports.smartConfiguration);
    app.get('/.well-known/smart-configuration', discovery);
    app.get('/fhir/.well-known/smart-configuration', discovery);
  };
}

/** A body over the limit or cut short: still an OAuth answer. */
function unreadableBody(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
  noStore(res);
  const tooLarge = (error as { type?: string }).type === 'entity.too.large';
  res.status(tooLarge ? 413 : 400).json({ error: 'invalid_request', error_description: tooLarge ? `the body is larger than ${TOKEN_BODY_LIMIT}` : 'the body could not be read' });
}

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/** The parameters of a form-encoded or JSON body, each once and a string; undefined otherwise. */
function tokenParams(req: Request): Record<string, string> | undefined {
  const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return formParams(text);
  if (type === 'application/json' || type.endsWith('+json')) return jsonParams(text);
  return undefined;
}

function formParams(text: string): Record<string, string> | undefined {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(params, name)) return undefined; // RFC 6749 §3.2: no parameter twice
    params[name] = value;
  }
  return params;
}

function jsonParams(text: string): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (!entries.every(([, value]) => typeof value === 'string')) return undefined;
  return Object.fromEntries(entries) as Record<string, string>;
}
