/**
 * The audit stage of the request pipeline (CONTRACT §6): runs the route with
 * a recorder the store, search and policy tell what they disclosed, wrote,
 * withheld and refused, then — whether the route succeeded or threw — stores
 * one AuditEvent per patient touched before the answer leaves. Skips only
 * patient X acting on X's own data. Never lets a request about X go
 * unaudited: if the events cannot be stored, the request fails with 503.
 *
 * A batch or transaction is one request: each entry runs through `entry`
 * with a recorder of its own, and its touches join the Bundle's, with what
 * the Bundle itself touched before routing them (the patients its
 * conditional references resolved by INS-NIR, or were refused). When the
 * Bundle is answered they become one AuditEvent per patient and kind of
 * entry (subtype, action, status), listing every resource of that patient
 * the entries touched and every query they ran: a laboratory's 200-entry
 * submission is one line of X's history and one mail, not 200; an ITI-65
 * Provide Document Bundle is one Import event per patient naming its
 * SubmissionSet (IHE BALP), whatever its entries did. A
 * transaction that failed persisted nothing, so each attempted entry is
 * recorded with the transaction's status. The trail writes on the pool,
 * outside the Bundle's transaction: the audit of a rolled-back one stays.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Resource } from 'fhir/r4';
import type { Session } from '../kernel/ports';
import { FhirError } from '../kernel/errors';
import type { FhirRequest, FhirResponse } from '../kernel/request';
import type { Caller } from '../kernel/caller';
import { provideBundleOf } from '../mhd/provide-bundle';
import { buildAuditEvent, interactionOf, PROVIDE_BUNDLE, queryText, type Interaction } from './event';
import { RequestRecorder } from './recorder';
import type { AuditRecord, AuditTrail } from './trail';

export type RouteFn = (request: FhirRequest, session: RecordedSession) => Promise<FhirResponse>;

/** A session whose recorder can be replaced (one per Bundle entry). */
export interface RecordedSession extends Session {
  readonly audit: RequestRecorder;
  withRecorder(recorder: RequestRecorder): RecordedSession;
}

/** Patient X on X's own data is the only caller not audited. */
export function isOwnData(caller: Caller, patientId: string): boolean {
  return caller.kind === 'patient' && caller.patientId === patientId;
}

function isTransaction(request: FhirRequest): boolean {
  return typeof request.body === 'object' && request.body !== null && (request.body as { type?: unknown }).type === 'transaction';
}

function statusOf(error: unknown): number {
  return error instanceof FhirError ? error.status : 500;
}

export const AUDIT_UNAVAILABLE = 'the activity history could not record this request, so it was not answered; try again later';

const unavailable = () => new FhirError(503, 'transient', AUDIT_UNAVAILABLE, undefined, { 'Retry-After': '5' });

/** A version that a rolled-back transaction wrote no longer exists: its resource is named unversioned. */
function unversioned(reference: string): string {
  return reference.replace(/\/_history\/[^/]+$/, '');
}

const TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * What a request refused before routing names besides the patients of its
 * path and query: the stored row of its `Type/id` (told as withheld, so it is
 * audited about that row's patient) and the patients of a write's body.
 */
async function tellTarget(request: FhirRequest, session: RecordedSession): Promise<void> {
  const [type, id] = request.path.split('/');
  const instance = TYPE.test(type ?? '') && ID.test(id ?? '');
  if (instance && type !== 'Patient') await session.store.withhold(type, id);
  const body = request.body as Resource | undefined;
  const writes = request.method === 'POST' || request.method === 'PUT';
  if (!writes || typeof body !== 'object' || body === null || typeof body.resourceType !== 'string' || body.resourceType === 'Bundle' || request.path.includes('$')) return;
  try {
    session.audit.named(session.compartment.patientsOf(body), request.method === 'PUT' && instance ? `${type}/${id}` : undefined);
  } catch {
    // a body too malformed to read its patients from names none
  }
}

/** What one request (or Bundle entry) did to one patient's data. */
interface Touch {
  patientId: string;
  interaction: Interaction;
  status: number;
  references: string[];
  queries: string[];
  /** An ITI-65 submission's SubmissionSet (`List/id`). */
  submissionSet?: string;
}

/**
 * An ITI-65 submission (CONTRACT §9, IHE BALP): when the transaction is one, its SubmissionSet —
 * `List/id` once created, null when the submission failed (nothing was created) — else undefined.
 */
function submissionOf(request: FhirRequest, outcome: Outcome): string | null | undefined {
  if (!isTransaction(request)) return undefined;
  const bundle = request.body as Bundle;
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  let index: number;
  try {
    const submission = provideBundleOf(bundle, entries.map((entry, position) => ({ index: position, method: String(entry?.request?.method ?? '').toUpperCase(), type: entry?.resource?.resourceType ?? '', resource: entry?.resource })));
    if (!submission) return undefined;
    index = submission.submissionSet;
  } catch {
    return undefined; // not a well-formed submission: audited as the transaction it was sent as
  }
  const location = (outcome.response?.body as Bundle | undefined)?.entry?.[index]?.response?.location;
  const created = location ? /(?:^|\/)List\/([^/]+)/.exec(location) : null;
  return created ? `List/${created[1]}` : null;
}

/** One ITI-65 event per patient: every entry's touches of that patient, one Import with the SubmissionSet. */
function asSubmission(touches: Touch[], submissionSet: string | null, status: number): Touch[] {
  const byPatient = new Map<string, Touch>();
  for (const touch of touches) {
    const into = byPatient.get(touch.patientId) ?? { patientId: touch.patientId, interaction: PROVIDE_BUNDLE, status, references: [], queries: [], ...(submissionSet ? { submissionSet } : {}) };
    byPatient.set(touch.patientId, into);
    for (const reference of touch.references) if (!into.references.includes(reference)) into.references.push(reference);
  }
  return [...byPatient.values()];
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

interface Outcome {
  response?: FhirResponse;
  failure?: unknown;
  status: number;
}

async function attempt(work: () => Promise<FhirResponse>): Promise<Outcome> {
  try {
    const response = await work();
    return { response, status: response.status };
  } catch (failure) {
    return { failure, status: statusOf(failure) };
  }
}

function settle(outcome: Outcome): FhirResponse {
  if (outcome.failure !== undefined) throw outcome.failure;
  return outcome.response as FhirResponse;
}

export class AuditStage {
  private readonly now: () => Date;
  /** The entries' touches of each Bundle being answered, by its recorder. */
  private readonly bundles = new WeakMap<RequestRecorder, Touch[]>();

  constructor(
    private readonly trail: AuditTrail,
    private readonly options: { observer: string; now?: () => Date },
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** A whole request: routed, then audited. `refused` is an error found before routing (a bad mode), audited like any refusal. */
  async request(request: FhirRequest, session: RecordedSession, route: RouteFn): Promise<FhirResponse> {
    const bundle: Touch[] | undefined = request.method === 'POST' && request.path === '' ? [] : undefined;
    if (bundle) this.bundles.set(session.audit, bundle);
    const outcome = await attempt(() => route(request, session));
    if (bundle) {
      this.bundles.delete(session.audit);
      bundle.push(...(await this.touchesOf(request, session, outcome)));
      const rolledBack = outcome.failure !== undefined && isTransaction(request);
      const touches = rolledBack ? bundle.map((touch) => ({ ...touch, status: outcome.status, references: touch.references.map(unversioned) })) : bundle;
      const submission = submissionOf(request, outcome);
      await this.record(request, session.caller, submission === undefined ? merge(touches) : asSubmission(touches, submission, outcome.status));
      return settle(outcome);
    }
    await this.record(request, session.caller, await this.touchesOf(request, session, outcome));
    return settle(outcome);
  }

  /** One entry of a batch or transaction: its own recorder, its touches joining the Bundle's. */
  async entry(request: FhirRequest, session: RecordedSession, route: RouteFn): Promise<FhirResponse> {
    const collection = this.bundles.get(session.audit);
    const own = session.withRecorder(new RequestRecorder(session.compartment));
    const outcome = await attempt(() => route(request, own));
    try {
      const touches = await this.touchesOf(request, own, outcome);
      if (collection) collection.push(...touches);
      else await this.record(request, session.caller, touches);
    } catch {
      throw unavailable();
    }
    return settle(outcome);
  }

  /** A request refused before it was routed (its mode): audited about the patients and the resource it names. */
  async refusal(request: FhirRequest, session: RecordedSession, refused: FhirError, named: string[]): Promise<never> {
    session.audit.named(named);
    try {
      await tellTarget(request, session);
    } catch {
      throw unavailable();
    }
    await this.record(request, session.caller, await this.touchesOf(request, session, { failure: refused, status: refused.status }));
    throw refused;
  }

  private async touchesOf(request: FhirRequest, session: RecordedSession, outcome: Outcome): Promise<Touch[]> {
    const succeeded = outcome.status < 400 && outcome.response !== undefined;
    const touched = await session.audit.touched(session.store, succeeded);
    const interaction = interactionOf(request, outcome.status);
    const queries = interaction.query ? [queryText(request)] : [];
    return [...touched]
      .filter(([patientId]) => !isOwnData(session.caller, patientId))
      .map(([patientId, references]) => ({ patientId, interaction, status: outcome.status, references, queries }));
  }

  private async record(request: FhirRequest, caller: Caller, touches: Touch[]): Promise<void> {
    if (touches.length === 0) return;
    try {
      const recorded = this.now();
      const records: AuditRecord[] = touches.map((touch) => {
        const { event, columns } = buildAuditEvent({
          id: randomUUID(),
          recorded,
          caller,
          request,
          interaction: touch.interaction,
          queries: touch.queries,
          status: touch.status,
          patientId: touch.patientId,
          touched: touch.references,
          observer: this.options.observer,
          ...(touch.submissionSet ? { submissionSet: touch.submissionSet } : {}),
        });
        return { patientId: touch.patientId, event, columns };
      });
      await this.trail.record(records);
    } catch {
      throw unavailable();
    }
  }
}
