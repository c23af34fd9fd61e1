/**
 * Resolves what a Bundle names by search criteria: conditional references
 * (`Patient?identifier=sys|val`, exactly one match or the entry fails) and
 * the targets of conditional creates and updates (so references to their
 * fullUrl point at the resource they will write). Searches run as the caller
 * (its access predicate), inside the transaction when there is one, and are
 * cached per criteria for the whole Bundle. The exact INS-NIR criteria
 * (`Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR>`) name the Patient
 * an entry of the Bundle writes with that NIR, else the one the caller sees,
 * else the identity the NIR resolves to (search/identity.ts). A create outside
 * a Bundle resolves its own conditional references the same way. Never writes.
 */
import type { Resource } from 'fhir/r4';
import { FhirError, unprocessable } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import type { QueryParams } from '../../kernel/request';
import type { StoredResource } from '../../store/resources';
import { lockCriteria } from '../interactions/write-input';
import { matchOrResolve, nirQueried } from '../../search/identity';
import { criteriaKey } from './entries';
import { rewriteReferences, systemWithoutValue, type ConditionalReference, type ConditionalSite } from './references';

export class ConditionalResolver {
  private readonly references = new Map<string, string>();
  /** INS-NIR → `Patient/id` of the Patients the Bundle's entries create or update. */
  private readonly written = new Map<string, string>();

  /** Only resolutions are cached: a failed one fails its transaction, or is retried by the next batch entry. */
  constructor(private readonly session: Session) {}

  /** The Patients a transaction writes, by INS-NIR: exact NIR references name them. */
  expectPatients(byNir: ReadonlyMap<string, string>): void {
    for (const [nir, reference] of byNir) this.written.set(nir, reference);
  }

  /** The Patient an entry of the Bundle writes with the NIR an exact INS-NIR reference names. */
  private writtenWith(reference: ConditionalReference): string | undefined {
    const nir = nirQueried(reference.type, reference.query);
    return nir === undefined ? undefined : this.written.get(nir);
  }

  /** Up to two matches of `type?query`, as the caller sees them (in the session's transaction, if any), or the identity an exact NIR resolves to. */
  async match(type: string, query: QueryParams, lock: boolean): Promise<StoredResource[]> {
    if (lock && this.session.inTransaction) await lockCriteria(this.session, type, query);
    return matchOrResolve(this.session, type, query, 2);
  }

  /** Replaces every conditional reference of `sites` by `Type/id`; 412/422 naming the element otherwise. */
  async resolveSites(sites: ConditionalSite[]): Promise<void> {
    for (const site of sites) site.holder.reference = await this.resolve(site.reference, site.expression);
  }

  async resolve(reference: ConditionalReference, expression: string): Promise<string> {
    const key = criteriaKey(reference.type, reference.query);
    const cached = this.references.get(key) ?? this.writtenWith(reference);
    if (cached !== undefined) return cached;
    let matches: StoredResource[];
    try {
      matches = await this.match(reference.type, reference.query, false);
    } catch (error) {
      if (error instanceof FhirError && error.status < 500) throw at(error, expression, reference.text);
      throw error;
    }
    if (matches.length === 1) {
      const resolved = `${reference.type}/${matches[0].id}`;
      this.references.set(key, resolved);
      return resolved;
    }
    if (matches.length > 1) {
      throw new FhirError(412, 'multiple-matches', `the conditional reference "${clip(reference.text)}" matches several ${reference.type} resources`, expression);
    }
    const systemOnly = systemWithoutValue(reference.query);
    if (systemOnly !== undefined) {
      throw unprocessable(
        `the conditional reference "${clip(reference.text)}" gives "${clip(systemOnly)}", which looks like an identifier system without a value (write system|value), and matches no ${reference.type}`,
        expression,
      );
    }
    throw new FhirError(412, 'not-found', `the conditional reference "${clip(reference.text)}" matches no ${reference.type}`, expression);
  }
}

/**
 * A create's own conditional references (outside a Bundle): each replaced by
 * `Type/id` as a Bundle entry's would be, or the 412/422 naming it.
 */
export async function resolveConditionalReferences(session: Session, resource: Resource): Promise<void> {
  const walk = rewriteReferences(resource, new Map(), session.baseUrl, resource.resourceType, false);
  if (walk.conditional.length > 0) await new ConditionalResolver(session).resolveSites(walk.conditional);
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The search engine's error about criteria, restated about the reference that carries them. */
function at(error: FhirError, expression: string, text: string): FhirError {
  const issues = error.issues.map((issue) => ({ ...issue, message: `conditional reference "${clip(text)}": ${issue.message}`, expression: [expression] }));
  return FhirError.withIssues(error.status, issues);
}
