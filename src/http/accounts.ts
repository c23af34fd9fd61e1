/**
 * The patient's door over HTTP (§7): /account/enrol, /account/oppose, /account/activate,
 * /auth/login, /auth/login/verify, /auth/logout, /auth/reset(/verify), /account/password,
 * /account/contact(/verify), /account/close. Turns JSON bodies and bearer tokens into calls
 * of the accounts services and their answers or errors (OperationOutcome, the one place in
 * app.ts) back into HTTP; failed attempts are rate-limited per IP and per account with
 * express-rate-limit on counters every process shares (429 with Retry-After).
 * Knows no account rules itself; never logs a body.
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import { rateLimit, ipKeyGenerator, type Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import { FhirError } from '../kernel/errors';
import type { Caller, PatientCaller } from '../kernel/caller';
import { sendError } from './app';

type Lang = 'fr' | 'en';

/** The accounts services, as this adapter calls them (src/accounts/, wired by server.ts). */
export interface AccountServices {
  enrol(caller: Caller, body: unknown): Promise<unknown>;
  oppose(body: unknown): Promise<void>;
  activate(body: unknown, lang: Lang): Promise<{ subject: string; patient: string }>;
  login(body: unknown): Promise<{ challengeId: string }>;
  verifyLogin(body: unknown): Promise<unknown>;
  logout(refreshToken: unknown): Promise<void>;
  startReset(body: unknown): Promise<{ challengeId: string }>;
  finishReset(body: unknown, lang: Lang): Promise<void>;
  changePassword(subject: string, body: unknown, lang: Lang): Promise<void>;
  startContactChange(subject: string, body: unknown): Promise<{ challengeId: string }>;
  finishContactChange(subject: string, body: unknown): Promise<void>;
  close(caller: PatientCaller): Promise<unknown>;
  /** The keyed hash naming the account a body tries (its NIR), for the per-account limit. */
  accountKeyOf(body: unknown): string | undefined;
}

export interface RateCounterPort {
  increment(key: string): Promise<{ totalHits: number; resetTime: Date }>;
  decrement(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

export interface AccountRouteOptions {
  accounts: AccountServices;
  authenticate: (authorization: string | undefined) => Promise<Caller>;
  logger: Logger;
  counters: RateCounterPort;
  windowMs: number;
  failuresPerIp: number;
  failuresPerAccount: number;
}

export function accountRoutes(options: AccountRouteOptions): (app: express.Express) => void {
  return (app) => {
    const { accounts } = options;
    const json = express.json({ limit: '64kb', type: () => true });
    const guarded = [json, ...limiters(options)];
    const post = (path: string, handlers: RequestHandler[], answer: (req: Request, res: Response) => Promise<unknown>) =>
      app.post(path, ...handlers, async (req: Request, res: Response) => {
        try {
          res.setHeader('Cache-Control', 'no-store');
          await answer(req, res);
        } catch (error) {
          sendError(res, error, options.logger);
        }
      });
    const caller = (req: Request) => options.authenticate(req.headers.authorization);
    const subjectOf = async (req: Request) => {
      const who = await caller(req);
      if (who.kind === 'patient') return `Patient/${who.patientId}`;
      if (who.kind === 'related-person') return `RelatedPerson/${who.relatedPersonId}`;
      throw new FhirError(403, 'forbidden', 'only a patient or a legal representative has an account');
    };

    post('/account/enrol', [json], async (req, res) => void res.status(201).json(await accounts.enrol(await caller(req), req.body)));
    post('/account/oppose', guarded, async (req, res) => {
      await accounts.oppose(req.body);
      res.json({ state: 'opposed' });
    });
    post('/account/activate', guarded, async (req, res) => {
      const activated = await accounts.activate(req.body, langOf(req));
      res.json({ state: 'active', ...activated });
    });
    post('/auth/login', guarded, async (req, res) => void res.json(await accounts.login(req.body)));
    post('/auth/login/verify', guarded, async (req, res) => void res.json(await accounts.verifyLogin(req.body)));
    post('/auth/logout', [json], async (req, res) => {
      await accounts.logout((req.body as { refresh_token?: unknown } | undefined)?.refresh_token);
      res.status(204).end();
    });
    post('/auth/reset', guarded, async (req, res) => void res.status(202).json(await accounts.startReset(req.body)));
    post('/auth/reset/verify', guarded, async (req, res) => {
      await accounts.finishReset(req.body, langOf(req));
      res.status(204).end();
    });
    post('/account/password', guarded, async (req, res) => {
      await accounts.changePassword(await subjectOf(req), req.body, langOf(req));
      res.status(204).end();
    });
    post('/account/contact', guarded, async (req, res) => void res.status(202).json(await accounts.startContactChange(await subjectOf(req), req.body)));
    post('/account/contact/verify', guarded, async (req, res) => {
      await accounts.finishContactChange(await subjectOf(req), req.body);
      res.status(204).end();
    });
    post('/account/close', [json], async (req, res) => {
      const who = await caller(req);
      if (who.kind !== 'patient') throw new FhirError(403, 'forbidden', 'only the patient closes their own space');
      res.json({ state: 'closed', ...((await accounts.close(who)) as object) });
    });
  };
}

/** Failed attempts only are counted (a success gives its hit back): per IP, then per account. */
function limiters(options: AccountRouteOptions): RequestHandler[] {
  const store = (prefix: string): Store => ({
    prefix,
    increment: (key) => options.counters.increment(`${prefix}${key}`),
    decrement: (key) => options.counters.decrement(`${prefix}${key}`),
    resetKey: (key) => options.counters.reset(`${prefix}${key}`),
  });
  const common = {
    windowMs: options.windowMs,
    standardHeaders: 'draft-7' as const,
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    validate: { singleCount: false },
    handler: (_req: Request, res: Response) => {
      const reset = (_req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now() + options.windowMs) - Date.now()) / 1000));
      res.setHeader('Retry-After', String(seconds));
      sendError(res, new FhirError(429, 'throttled', 'too many failed attempts: try again later'), options.logger);
    },
  };
  return [
    rateLimit({ ...common, limit: options.failuresPerIp, store: store('ip:'), keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown') }),
    rateLimit({
      ...common,
      limit: options.failuresPerAccount,
      store: store('account:'),
      keyGenerator: (req) => options.accounts.accountKeyOf(req.body) ?? 'none',
      skip: (req) => options.accounts.accountKeyOf(req.body) === undefined,
    }),
  ];
}

function langOf(req: Request): Lang {
  return /^en\b/i.test(req.headers['accept-language'] ?? '') ? 'en' : 'fr';
}
