/**
 * Batches (http.html#transaction): each entry is an independent request sent
 * through the router with its own database transaction; an entry's failure
 * becomes that entry's status and OperationOutcome and the others proceed.
 * Entries run a few at a time (each commit waits for the disk, so overlapping
 * them is most of a batch's speed), except that entries naming the same
 * resource (`Type/id`, or the same conditional criteria) run one after the
 * other in Bundle order. Responses keep the Bundle's order.
 * Conditional references are resolved per entry against what is stored when
 * the entry runs; batch entries must not depend on each other, so references
 * to other entries' fullUrls are left as written.
 * Never turns one entry's client error into a failure of the whole batch.
 */
import type { Bundle, BundleEntry } from 'fhir/r4';
import { FhirError } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import type { FhirRequest } from '../../kernel/request';
import { ConditionalResolver } from './conditional';
import { entryPath, planEntry, plannedTarget, type EntryPlan } from './entries';
import { entryRequest, type Route } from './entry-request';
import { failureEntry, responseError, successEntry } from './entry-response';
import { rewriteReferences } from './references';

/** Entries of one batch in flight at once (each holds a pooled connection while it runs). */
const CONCURRENCY = 4;
const NO_TARGETS: ReadonlyMap<string, string> = new Map();

export async function processBatch(bundle: Bundle, outer: FhirRequest, session: Session, route: Route): Promise<Bundle> {
  const resolver = new ConditionalResolver(session);
  const entries = bundle.entry ?? [];
  const responses = new Array<BundleEntry>(entries.length);
  const slots = semaphore(CONCURRENCY);
  const chains = new Map<string, Promise<unknown>>();
  const tasks: Promise<void>[] = [];
  for (let index = 0; index < entries.length; index++) {
    let plan: EntryPlan;
    let key: string;
    try {
      plan = planEntry(entries[index], index, session.baseUrl, 'batch');
      key = orderKey(plan);
    } catch (error) {
      responses[index] = failureOf(error);
      continue;
    }
    const run = () => slots(() => runEntry(plan, outer, session, route, resolver));
    const task = (chains.get(key) ?? Promise.resolve()).then(run).then(
      (entry) => {
        responses[index] = entry;
      },
      (error: unknown) => {
        responses[index] = failureOf(error);
      },
    );
    chains.set(key, task);
    tasks.push(task);
  }
  await Promise.all(tasks);
  return { resourceType: 'Bundle', type: 'batch-response', entry: responses };
}

/** Entries with the same key run in Bundle order; others may overlap. */
function orderKey(plan: EntryPlan): string {
  if (plan.id !== undefined && plan.type !== '') return `${plan.type}/${plan.id}`;
  return plannedTarget(plan) ?? `#${plan.index}`;
}

async function runEntry(plan: EntryPlan, outer: FhirRequest, session: Session, route: Route, resolver: ConditionalResolver): Promise<BundleEntry> {
  if (plan.resource) {
    const walk = rewriteReferences(plan.resource, NO_TARGETS, session.baseUrl, `${entryPath(plan.index)}.resource`);
    await resolver.resolveSites(walk.conditional);
  }
  const response = await route(entryRequest(plan, outer), session);
  return response.status >= 400 ? failureEntry(responseError(response)) : successEntry(response, plan.method);
}

/** A client error is the entry's answer; anything else is a server fault and fails the request. */
function failureOf(error: unknown): BundleEntry {
  if (error instanceof FhirError) return failureEntry(error);
  throw error;
}

function semaphore(size: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
