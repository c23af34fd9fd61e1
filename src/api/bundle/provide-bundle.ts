/**
 * The ITI-65 steps of a transaction that is an MHD submission (CONTRACT §9,
 * mhd/provide-bundle.ts says what one is):
 *  1. before anything is read, the Bundle and its Lists and DocumentReferences
 *     against the IHE MHD profiles of the submission's option (422);
 *  2. once references are resolved, one patient across the entries, and each
 *     document a DocumentReference `replaces` read through the router as the
 *     submitter: it must be current and of the same patient (else the one 422
 *     of mhd replacementRefused, whatever the reason, hidden and missing
 *     included);
 *  3. after the entries ran, each replaced document no entry modified is
 *     marked `superseded` by a JSON Patch sent through the router as the
 *     submitter — the write rules make it the author's alone, and a refusal
 *     is that same 422. An entry of the Bundle that modifies a replaced
 *     document itself (IHE's own examples PATCH it) answers that 422 too when
 *     it is refused.
 * All inside the transaction: any failure rolls the whole submission back.
 * Never writes anything except through the router.
 */
import type { Bundle, DocumentReference } from 'fhir/r4';
import { FhirError } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { localReference } from '../../kernel/reference';
import type { FhirRequest } from '../../kernel/request';
import { provideBundleOf, replacementRefused, replacementsOf, submissionPatient, type ProvideBundle, type Replacement } from '../../mhd/provide-bundle';
import type { EntryPlan } from './entries';
import { entryRequest, type Route } from './entry-request';
import { responseError, transactionFailure } from './entry-response';

/** The answers that tell a document's rights or existence, never given for a replaced document. */
const REFUSALS: ReadonlySet<number> = new Set([403, 404, 410, 412]);

/** A replaced document as the submitter read it: its version, for the If-Match of the patch. */
interface ReadTarget {
  replacement: Replacement;
  versionId?: string;
}

export class SubmissionSteps {
  private targets: ReadTarget[] = [];

  private constructor(
    readonly submission: ProvideBundle,
    private readonly outer: FhirRequest,
    private readonly route: Route,
  ) {}

  /** Step 1: the steps of an MHD submission, or undefined for any other transaction. */
  static of(bundle: Bundle, plans: readonly EntryPlan[], outer: FhirRequest, session: Session, route: Route): SubmissionSteps | undefined {
    const submission = provideBundleOf(bundle, plans);
    if (!submission) return undefined;
    for (const required of submission.profiles) {
      const plan = required.index === undefined ? undefined : plans[required.index];
      const resource = plan ? plan.resource : bundle;
      const errors = session.validator.validate(resource, { profiles: [required.url] }).filter((issue) => issue.severity === undefined || issue.severity === 'error' || issue.severity === 'fatal');
      if (errors.length === 0) continue;
      const error = FhirError.withIssues(422, errors);
      throw plan ? transactionFailure(error, plan) : error;
    }
    return new SubmissionSteps(submission, outer, route);
  }

  /** Step 2, after references are resolved. `written`: `Type/id` of what the entries write. */
  async check(plans: readonly EntryPlan[], written: ReadonlySet<string>, session: Session): Promise<void> {
    const patient = submissionPatient(this.submission, plans, session.baseUrl, written);
    for (const replacement of replacementsOf(plans, session.baseUrl)) {
      this.targets.push({ replacement, versionId: await this.readTarget(replacement, patient, plans, session) });
    }
  }

  /** The replaced document, read as the submitter; its version. */
  private async readTarget(replacement: Replacement, patient: string, plans: readonly EntryPlan[], session: Session): Promise<string | undefined> {
    const read = entryRequest({ ...plans[replacement.index], method: 'GET', path: `DocumentReference/${replacement.target}`, query: [], headers: {}, resource: undefined }, this.outer);
    const response = await this.route(read, session).catch((error: unknown) => {
      if (error instanceof FhirError) throw replacementRefused(replacement);
      throw error;
    });
    const document = response.body as DocumentReference | undefined;
    const subject = localReference(document?.subject?.reference, session.baseUrl);
    if (response.status !== 200 || document?.status !== 'current' || !subject || `${subject.type}/${subject.id}` !== patient) throw replacementRefused(replacement);
    return document.meta?.versionId;
  }

  /**
   * An entry's failure, as the submission answers it: a change of a replaced document refused for
   * its rights or its existence (403, 404, 410, 412) is the replacement's 422. Anything the entry
   * is told once its rights were granted (the patched document fails validation: 422) stays its own.
   */
  explain(plan: EntryPlan, error: FhirError): FhirError {
    const target = this.targets.find(({ replacement }) => plan.type === 'DocumentReference' && plan.id === replacement.target);
    return target && REFUSALS.has(error.status) ? replacementRefused(target.replacement) : error;
  }

  /** Step 3: each replaced document that no entry modifies is marked superseded. `claims`: what the entries modify. */
  async supersede(plans: readonly EntryPlan[], claims: ReadonlyMap<string, number>, session: Session): Promise<void> {
    for (const { replacement, versionId } of this.targets) {
      if (claims.has(`DocumentReference/${replacement.target}`)) continue;
      const patch = entryRequest({ ...plans[replacement.index], method: 'PATCH', path: `DocumentReference/${replacement.target}`, query: [], headers: {}, resource: undefined }, this.outer);
      patch.headers['content-type'] = 'application/json-patch+json';
      if (versionId !== undefined) patch.headers['if-match'] = `W/"${versionId}"`;
      patch.body = [
        { op: 'test', path: '/status', value: 'current' },
        { op: 'replace', path: '/status', value: 'superseded' },
      ];
      const response = await this.route(patch, session).catch((error: unknown) => {
        if (error instanceof FhirError && REFUSALS.has(error.status)) throw replacementRefused(replacement);
        throw error;
      });
      if (response.status >= 400) throw REFUSALS.has(response.status) ? replacementRefused(replacement) : responseError(response);
    }
  }
}
