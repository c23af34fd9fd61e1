/**
 * The audit wrapper around the FHIR route function (CONTRACT §6). Runs the
 * request, then — whether it succeeded or threw — finds the patients it
 * touched and stores one AuditEvent per patient before the answer leaves.
 * Skips only patient X acting on X's own data. Never lets a request about X
 * go unaudited: if the events cannot be stored, the request fails with 503.
 *
 * Batch and transaction Bundles are not audited as such: the bundle processor
 * sends each entry back through this wrapper (`bundleEntry`), so each entry is
 * audited as the request it is. The trail writes on the main pool, outside the
 * Bundle's transaction: when a transaction rolls back, the entries' events stay
 * (what was attempted, and by whom, is history even if nothing was kept).
 */
import { randomUUID } from 'node:crypto';
import type { FhirContext } from '../fhir/context';
import { FhirError } from '../fhir/errors';
import { FhirRouter } from '../fhir/router';
import type { FhirRequest, FhirResponse } from '../fhir/request';
import type { Caller } from '../identity/caller';
import { buildAuditEvent } from './event';
import { touchedPatients } from './patients';
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

function statusOf(error: unknown): number {
  return error instanceof FhirError ? error.status : 500;
}

export const AUDIT_UNAVAILABLE = 'the activity history could not record this request, so it was not answered; try again later';

export function audited(route: RouteFn, trail: AuditTrail, options: AuditedOptions): RouteFn {
  const now = options.now ?? (() => new Date());
  return async (request, ctx) => {
    if (!request.caller || isBundleRequest(request)) return route(request, ctx);
    let response: FhirResponse | undefined;
    let failure: unknown;
    try {
      response = await route(request, ctx);
    } catch (error) {
      failure = error;
    }
    const status = response?.status ?? statusOf(failure);
    try {
      const touched = await touchedPatients(request, ctx, response, status);
      const recorded = now();
      const records: AuditRecord[] = [];
      for (const [patientId, references] of touched) {
        if (isOwnData(request.caller, patientId)) continue;
        const { event, columns } = buildAuditEvent({ id: randomUUID(), recorded, request, status, patientId, touched: references, observer: options.observer });
        records.push({ patientId, event, columns });
      }
      await trail.record(records);
    } catch {
      throw new FhirError(503, 'transient', AUDIT_UNAVAILABLE, undefined, { 'Retry-After': '5' });
    }
    if (failure !== undefined) throw failure;
    return response as FhirResponse;
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
