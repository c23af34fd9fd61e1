/**
 * Transactions (http.html#transaction): every entry goes through the router
 * inside one database transaction, so any failure rolls everything back and
 * the answer is that entry's OperationOutcome, naming `Bundle.entry[i]`.
 *
 * Order of work, each step once for the whole Bundle:
 *  1. plan every entry (400 on a malformed one), refuse duplicate fullUrls and
 *     two entries modifying one resource;
 *  2. assign ids: a new id to each POST, `Type/id` to each PUT/PATCH/DELETE;
 *  3. in the transaction: DELETEs; then the targets of conditional creates and
 *     updates (under their advisory locks, so they are the ones the entries
 *     will find); then one walk per resource rewriting references to fullUrls
 *     and resolving conditional references (cached per criteria; an exact
 *     INS-NIR one names the Patient an entry writes with that NIR); then POSTs,
 *     PUT/PATCHes and GET/HEADs, in the spec's processing order (but the
 *     Patients the entries write go first: entries.ts phaseOf).
 * The whole Bundle is one session transaction with a unit of work: new rows
 * and search index rows are held by the store and written together ahead of
 * the transaction's next statement and before it commits (store/executor.ts);
 * each entry's own `session.transaction` runs flat inside it (any failure
 * rolls the whole Bundle back anyway). The access rules read their facts
 * through the same transaction, so later entries see earlier ones.
 * Never writes anything itself: every write is an entry sent to the router.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry } from 'fhir/r4';
import { badRequest, FhirError } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import type { FhirRequest, FhirResponse, QueryParams } from '../../kernel/request';
import { ConditionalResolver } from './conditional';
import { claimTarget, entryPath, parseCriteriaText, planEntry, processingOrder, requireDistinctTargets, type EntryPlan } from './entries';
import { entryRequest, type Route } from './entry-request';
import { responseError, successEntry, transactionFailure } from './entry-response';
import { rewriteQuery, rewriteReferences } from './references';
import { nirsOf } from '../../store/identities';
import { SubmissionSteps } from './provide-bundle';

interface Transaction {
  plans: EntryPlan[];
  /** What each entry modifies (`Type/id` or criteria) → entry index. */
  claims: Map<string, number>;
  /** fullUrl → `Type/id`. */
  targets: Map<string, string>;
  /** Entry index → id the POST (or a conditional PUT matching nothing, without an id) creates its resource with. */
  assigned: Map<number, string>;
  /** The ITI-65 steps, when the Bundle is an MHD submission. */
  submission?: SubmissionSteps;
}

export async function processTransaction(bundle: Bundle, outer: FhirRequest, session: Session, route: Route): Promise<Bundle> {
  const plans = (bundle.entry ?? []).map((entry, index) => planEntry(entry, index, session.baseUrl, 'transaction'));
  const state: Transaction = { plans, claims: requireDistinctTargets(plans), targets: new Map(), assigned: new Map() };
  state.submission = SubmissionSteps.of(bundle, plans, outer, session, route);
  assignIds(state);
  const responses: BundleEntry[] = new Array<BundleEntry>(plans.length);
  const order = processingOrder(plans);
  await session.transaction(
    async (trx) => {
      const resolver = new ConditionalResolver(trx);
      const run = async (plan: EntryPlan) => {
        responses[plan.index] = await runEntry(plan, state, outer, trx, route);
      };
      await claimConditionalDeletes(state, resolver);
      for (const plan of order) if (plan.method === 'DELETE') await run(plan);
      await assignConditionalTargets(state, resolver);
      resolver.expectPatients(patientsByNir(state));
      await rewriteResources(state, resolver, session.baseUrl);
      await state.submission?.check(plans, writtenBy(state), trx);
      for (const plan of order) if (plan.method !== 'DELETE') await run(plan);
      await state.submission?.supersede(plans, state.claims, trx);
    },
    { unitOfWork: true },
  );
  return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
}

/** Step 2: ids known before anything is read. */
function assignIds(state: Transaction): void {
  for (const plan of state.plans) {
    if (plan.method === 'POST' && plan.headers['if-none-exist'] === undefined && plan.id === undefined) {
      const id = randomUUID();
      state.assigned.set(plan.index, id);
      if (plan.fullUrl !== undefined) state.targets.set(plan.fullUrl, `${plan.type}/${id}`);
    } else if (plan.method !== 'POST' && plan.id !== undefined && plan.fullUrl !== undefined && plan.method !== 'GET' && plan.method !== 'HEAD') {
      state.targets.set(plan.fullUrl, `${plan.type}/${plan.id}`);
    }
  }
}

/** `Type/id` of every resource the entries create or modify. */
function writtenBy(state: Transaction): Set<string> {
  const written = new Set<string>([...state.targets.values(), ...state.claims.keys()].filter((target) => !target.includes('?')));
  for (const [index, id] of state.assigned) written.add(`${state.plans[index].type}/${id}`);
  return written;
}

/** A conditional delete and another entry must not both modify one resource. */
async function claimConditionalDeletes(state: Transaction, resolver: ConditionalResolver): Promise<void> {
  for (const plan of state.plans) {
    if (plan.method !== 'DELETE' || plan.id !== undefined) continue;
    plan.query = rewriteQuery(plan.query, state.targets);
    const matches = await matchFor(plan, plan.query, resolver);
    if (matches.length === 1) claim(state, `${plan.type}/${matches[0]}`, plan);
  }
}

/** Step 3b: conditional creates, updates and patches, matched as their entries will match them. */
async function assignConditionalTargets(state: Transaction, resolver: ConditionalResolver): Promise<void> {
  for (const plan of state.plans) {
    if (plan.method === 'POST' && plan.headers['if-none-exist'] !== undefined) {
      const criteria = rewriteQuery(parseCriteriaText(plan.headers['if-none-exist'], plan.index), state.targets);
      plan.headers['if-none-exist'] = encodeQuery(criteria);
      const matches = await matchFor(plan, criteria, resolver);
      if (matches.length > 1) throw failure(plan, 412, 'duplicate', `ifNoneExist matches ${matches.length} ${plan.type} resources`);
      const id = matches[0] ?? randomUUID();
      if (matches.length === 0) state.assigned.set(plan.index, id);
      if (plan.fullUrl !== undefined) state.targets.set(plan.fullUrl, `${plan.type}/${id}`);
    } else if ((plan.method === 'PUT' || plan.method === 'PATCH') && plan.id === undefined) {
      plan.query = rewriteQuery(plan.query, state.targets);
      const matches = await matchFor(plan, plan.query, resolver);
      if (matches.length > 1) throw failure(plan, 412, 'multiple-matches', `the criteria match ${matches.length} ${plan.type} resources`);
      let id = matches[0];
      if (id === undefined && plan.method === 'PUT' && plan.resource) {
        id = typeof plan.resource.id === 'string' ? plan.resource.id : randomUUID();
        // no match and no id: created under the server's id (patient data never takes a client's, CONTRACT §2)
        if (plan.resource.id === undefined) state.assigned.set(plan.index, id);
      }
      if (id === undefined) continue;
      claim(state, `${plan.type}/${id}`, plan);
      if (plan.fullUrl !== undefined) state.targets.set(plan.fullUrl, `${plan.type}/${id}`);
    }
  }
}

/** The Patients the entries create or update, by INS-NIR → `Patient/id` (ids known after step 3b). */
function patientsByNir(state: Transaction): Map<string, string> {
  const byNir = new Map<string, string>();
  for (const plan of state.plans) {
    if (plan.resource?.resourceType !== 'Patient' || (plan.method !== 'POST' && plan.method !== 'PUT')) continue;
    const id = state.assigned.get(plan.index) ?? plan.id ?? claimedPatient(state, plan.index);
    if (id !== undefined) for (const nir of nirsOf(plan.resource)) byNir.set(nir, `Patient/${id}`);
  }
  return byNir;
}

/** The `Patient/id` a conditional PUT claimed in step 3b. */
function claimedPatient(state: Transaction, index: number): string | undefined {
  for (const [target, claimer] of state.claims) if (claimer === index && target.startsWith('Patient/')) return target.slice('Patient/'.length);
  return undefined;
}

/** Step 3c: references to fullUrls, then conditional references, in every resource and URL. */
async function rewriteResources(state: Transaction, resolver: ConditionalResolver, baseUrl: string): Promise<void> {
  for (const plan of state.plans) {
    if (plan.method !== 'POST' && plan.method !== 'DELETE') plan.query = rewriteQuery(plan.query, state.targets);
    if (!plan.resource) continue;
    const walk = rewriteReferences(plan.resource, state.targets, baseUrl, `${entryPath(plan.index)}.resource`);
    const unresolved = walk.unresolved[0];
    if (unresolved) {
      throw transactionFailure(badRequest(`the reference ${unresolved.value.slice(0, 80)} names no entry of the transaction`, unresolved.expression), plan);
    }
    try {
      await resolver.resolveSites(walk.conditional);
    } catch (error) {
      if (error instanceof FhirError) throw transactionFailure(error, plan);
      throw error;
    }
  }
}

async function runEntry(plan: EntryPlan, state: Transaction, outer: FhirRequest, session: Session, route: Route): Promise<BundleEntry> {
  const assignedId = state.assigned.get(plan.index);
  let response: FhirResponse;
  try {
    response = await route(entryRequest(plan, outer, plan.query, assignedId), session);
  } catch (error) {
    if (error instanceof FhirError) throw explained(state, plan, error);
    throw error;
  }
  if (response.status >= 400) throw explained(state, plan, responseError(response));
  if (assignedId !== undefined && response.status === 201) requireAssignedId(response, plan, assignedId);
  return successEntry(response, plan.method);
}

/** An entry's failure as the transaction answers it (an MHD submission may answer it for the whole submission). */
function explained(state: Transaction, plan: EntryPlan, error: FhirError): FhirError {
  const explained = state.submission?.explain(plan, error) ?? error;
  return explained === error ? transactionFailure(error, plan) : explained;
}

/**
 * References to this entry were rewritten to the id assigned to it: the
 * create interaction must have used it (FhirRequest.assignedId).
 */
function requireAssignedId(response: FhirResponse, plan: EntryPlan, assignedId: string): void {
  const location = response.headers?.Location ?? '';
  const created = response.body?.id ?? /\/([^/]+)\/_history\/[^/]+$/.exec(location)?.[1];
  if (created !== undefined && created !== assignedId) {
    throw new Error(`${entryPath(plan.index)}: the create interaction ignored the id the transaction assigned (${assignedId}); FhirRequest.assignedId is not wired`);
  }
}

async function matchFor(plan: EntryPlan, criteria: QueryParams, resolver: ConditionalResolver): Promise<string[]> {
  try {
    return (await resolver.match(plan.type, criteria, true)).map((row) => row.id);
  } catch (error) {
    if (error instanceof FhirError) throw transactionFailure(error, plan);
    throw error;
  }
}

function claim(state: Transaction, target: string, plan: EntryPlan): void {
  try {
    claimTarget(state.claims, target, plan.index);
  } catch (error) {
    if (error instanceof FhirError) throw transactionFailure(error, plan);
    throw error;
  }
}

function failure(plan: EntryPlan, status: number, code: 'duplicate' | 'multiple-matches', message: string): FhirError {
  return transactionFailure(new FhirError(status, code, message), plan);
}

function encodeQuery(query: QueryParams): string {
  return query.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
}
