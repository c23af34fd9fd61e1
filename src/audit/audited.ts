/**
 * The audit wrapper around the FHIR route function (CONTRACT §6). Runs the
 * request, then — whether it succeeded or threw — finds the patients it
 * touched and stores one AuditEvent per patient before the answer leaves.
 * Skips only patient X acting on X's own data. Never lets a request about X
 * go unaudited: if the events cannot be stored, the request fails with 503.
 *
 * A batch or transaction is one request: the bundle processor sends each
 * entry back through this wrapper (`FhirRequest.bundle`), which finds what the
 * entry touched exactly as for a request sent alone, but hands it to the
 * Bundle's collection instead of the trail. When the Bundle is answered, the
 * collection becomes one AuditEvent per patient and kind of entry (subtype,
 * action, status), listing every resource of that patient the entries
 * touched and every query they ran: a laboratory's 200-entry submission is
 * one line of X's history and one mail, not 200. A transaction that failed
 * persisted nothing, so each attempted entry is recorded with the
 * transaction's status. The trail writes on the main pool, outside the
 * Bundle's transaction: the audit of a rolled-back transaction stays.
 */
import { randomUUID } from 'node:crypto';
import type { FhirContext } from '../fhir/context';
import { FhirError } from '../fhir/errors';
import { FhirRouter } from '../fhir/router';
import type { FhirRequest, FhirResponse } from '../fhir/request';
import type { Caller } from '../identity/caller';
import { buildAuditEvent, interactionOf, queryText, type Interaction } from './event';
import { touchedPatients } from './patients';
import { applyPurposeOfUse } from '../access/purpose-of-use';
import type { AuditRecord, AuditTrail } from './trail';

export type RouteFn = (request: FhirRequest, ctx: FhirContext) => Promise<FhirResponse>;

export interface AuditedOptions {
  /** FHIR base URL of this server, recorded as `source.observer`. */
  observer: string;
  now?: () => Date;
}

/** Patient X on X's own data is the only caller not audited. */
export function isOwnData(caller: Caller, patientId: string): boolean {
  return caller.kind === 'patient' && caller.patientId === patientId;
}

function isBundleRequest(request: FhirRequest): boolean {
  return request.method === 'POST' && request.path === '';
}

function isTransaction(request: FhirRequest): boolean {
  return typeof request.body === 'object' && request.body !== null && (request.body as { type?: unknown }).type === 'transaction';
}

function statusOf(error: unknown): number {
  return error instanceof FhirError ? error.status : 500;
}

export const AUDIT_UNAVAILABLE = 'the activity history could not record this request, so it was not answered; try again later';

/** What one request (or Bundle entry) did to one patient's data. */
interface Touch {
  patientId: string;
  interaction: Interaction;
  status: number;
  references: string[];
  queries: string[];
}

/** The touches of a request, one per patient, without the caller's own data. */
async function touchesOf(request: FhirRequest, ctx: FhirContext, response: FhirResponse | undefined, status: number): Promise<Touch[]> {
  const touched = await touchedPatients(request, ctx, response, status);
  const interaction = interactionOf(request, status);
  const queries = interaction.query ? [queryText(request)] : [];
  return [...touched]
    .filter(([patientId]) => !isOwnData(request.caller, patientId))
    .map(([patientId, references]) => ({ patientId, interaction, status, references, queries }));
}

/** Touches of the same patient, interaction and status merged into one, in order of first appearance. */
function merge(touches: Touch[]): Touch[] {
  const merged = new Map<string, Touch>();
  for (const touch of touches) {
    const key = [touch.patientId, touch.interaction.subtype, touch.interaction.action, touch.status].join('|');
    const into = merged.get(key);
    if (!into) {
      merged.set(key, { ...touch, references: [...touch.references], queries: [...touch.queries] });
      continue;
    }
    for (const reference of touch.references) if (!into.references.includes(reference)) into.references.push(reference);
    for (const query of touch.queries) if (!into.queries.includes(query)) into.queries.push(query);
  }
  return [...merged.values()];
}

/**
 * The request with the practitioner's mode (X-Purpose-Of-Use) read from its
 * headers, once: read here, inside the audit, so a refused mode (400) is
 * audited like any other refusal.
 */
function withMode(request: FhirRequest): FhirRequest {
  const decided = request.caller.kind === 'practitioner' && request.caller.purposeOfUse !== undefined;
  return decided ? request : { ...request, caller: applyPurposeOfUse(request.caller, request.headers) };
}

export function audited(route: RouteFn, trail: AuditTrail, options: AuditedOptions): RouteFn {
  const now = options.now ?? (() => new Date());
  /**
   * The entries' touches of each Bundle being processed, by the Bundle's
   * request, and the Bundle's context: entries look stored rows up on the
   * main pool, never in a transaction a failed statement may have aborted.
   */
  const bundles = new WeakMap<FhirRequest, { ctx: FhirContext; touches: Touch[] }>();

  const record = async (request: FhirRequest, touches: () => Promise<Touch[]>): Promise<void> => {
    try {
      const recorded = now();
      const records: AuditRecord[] = (await touches()).map((touch) => {
        const { event, columns } = buildAuditEvent({
          id: randomUUID(),
          recorded,
          request,
          interaction: touch.interaction,
          queries: touch.queries,
          status: touch.status,
          patientId: touch.patientId,
          touched: touch.references,
          observer: options.observer,
        });
        return { patientId: touch.patientId, event, columns };
      });
      await trail.record(records);
    } catch {
      throw new FhirError(503, 'transient', AUDIT_UNAVAILABLE, undefined, { 'Retry-After': '5' });
    }
  };

  const settle = (response: FhirResponse | undefined, failure: unknown): FhirResponse => {
    if (failure !== undefined) throw failure;
    return response as FhirResponse;
  };

  return async (received, ctx) => {
    if (!received.caller) return route(received, ctx);
    let request: FhirRequest;
    try {
      request = withMode(received);
    } catch (refused) {
      await record(received, () => touchesOf(received, ctx, undefined, statusOf(refused)));
      throw refused;
    }
    let response: FhirResponse | undefined;
    let failure: unknown;
    if (isBundleRequest(request)) {
      const entries: Touch[] = [];
      bundles.set(request, { ctx, touches: entries });
      try {
        response = await route(request, ctx);
      } catch (error) {
        failure = error;
      } finally {
        bundles.delete(request);
      }
      const status = response?.status ?? statusOf(failure);
      const rolledBack = failure !== undefined && isTransaction(request);
      await record(request, async () => merge(rolledBack ? entries.map((touch) => ({ ...touch, status })) : entries));
      return settle(response, failure);
    }
    try {
      response = await route(request, ctx);
    } catch (error) {
      failure = error;
    }
    const status = response?.status ?? statusOf(failure);
    const collection = request.bundle && bundles.get(request.bundle);
    if (collection) {
      try {
        collection.touches.push(...(await touchesOf(request, collection.ctx, response, status)));
      } catch {
        throw new FhirError(503, 'transient', AUDIT_UNAVAILABLE, undefined, { 'Retry-After': '5' });
      }
    } else {
      await record(request, () => touchesOf(request, ctx, response, status));
    }
    return settle(response, failure);
  };
}

/**
 * A FhirRouter whose `route` is audited: hand it to the HTTP adapter and to the
 * bundle processor in place of the bare router (routes are added to `inner`).
 */
export class AuditedRouter extends FhirRouter {
  private readonly auditedRoute: RouteFn;

  constructor(private readonly inner: FhirRouter, trail: AuditTrail, options: AuditedOptions) {
    super();
    this.auditedRoute = audited((request, ctx) => inner.route(request, ctx), trail, options);
  }

  override add(...args: Parameters<FhirRouter['add']>): this {
    this.inner.add(...args);
    return this;
  }

  override route(request: FhirRequest, ctx: FhirContext): Promise<FhirResponse> {
    return this.auditedRoute(request, ctx);
  }
}
