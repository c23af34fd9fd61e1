/**
 * `POST [base]` with a Bundle of type batch or transaction (any other type,
 * or none, is 400). The route handler is built around the router itself, so
 * every entry comes back through the same route table, with the same
 * validation, access rules and audit as a request sent alone; the response
 * Bundle is served whole, once (entry-response.ts servedEntries).
 * Never processes a Bundle nested in another Bundle's entry.
 */
import { badRequest } from '../../kernel/errors';
import type { Handler } from '../router';
import { processBatch } from './batch';
import { requireBundleKind } from './entries';
import type { Route } from './entry-request';
import { servedEntries } from './entry-response';
import { processTransaction } from './transaction';

export type { Route } from './entry-request';

/** The batch/transaction handler; `route` is `(request, session) => router.route(request, session)`. */
export function bundleInteraction(route: Route): Handler {
  return async (request, session) => {
    if (request.bundle) throw badRequest('a batch or transaction cannot be an entry of another one');
    const { bundle, kind } = requireBundleKind(request.body);
    const body = kind === 'batch' ? await processBatch(bundle, request, session, route) : await processTransaction(bundle, request, session, route);
    return { status: 200, body: await servedEntries(session, body) };
  };
}
