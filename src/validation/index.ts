/**
 * Carnet's Validator: everything a write must satisfy before it is stored —
 * the base R4 specification (JSON schema, cardinalities, invariants) and the
 * profiles of `profiles/` that the resource claims in `meta.profile`, that
 * the caller names (`$validate?profile=`) or that it implies (a Consent's
 * consent-kind category: implied-profiles.ts). Everything is prepared by
 * `createValidator` but the per-type JSON schema validators, compiled on first
 * use or all at once by `warmUp()` (the server does it at start); `validate` is
 * synchronous and never throws on client input. Never stores, fetches or
 * changes a resource.
 *
 * Usage:
 *   const validator = await createValidator();            // profiles/ of the repo
 *   validator.warmUp();                                    // optional: compile every type's schema now
 *   const issues = validator.validate(resource, { profiles: [url] });
 *   if (issues.some(isErrorIssue)) throw FhirError.withIssues(422, issues);
 */
import path from 'node:path';
import type { StructureDefinition } from 'fhir/r4';
import type { Validator, ValidationOptions } from '../kernel/ports';
import type { IssueDetail } from '../kernel/errors';
import { BaseValidation, isErrorIssue } from './base-validation';
import { baseElementModel, type ElementModel } from '../kernel/element-model';
import { impliedProfiles } from './implied-profiles';
import { InvariantEngine, type SkippedInvariant } from './invariants';
import { canonicalUrl, loadProfiles, loadTerminology, ProfileRegistry } from './profiles';
import { sharedSchemaValidator } from './schema';

export { isErrorIssue, loadProfiles };
export type { SkippedInvariant };

export interface CreateValidatorOptions {
  /** StructureDefinitions (and ValueSets/CodeSystems for their bindings); default `<repo>/profiles`. */
  profilesDir?: string;
  /** More ValueSets/CodeSystems for required bindings; default `<repo>/terminology`. */
  terminologyDir?: string;
}

export interface CarnetValidator extends Validator {
  /** Compiles now every type's JSON schema validator (otherwise each is compiled on its first use; about 1.6 s for all). */
  warmUp(): void;
  /** Invariants (base spec, then profiles) that are not evaluated, with the reason. */
  skippedInvariants(): SkippedInvariant[];
  /** The loaded profiles, to be served read-only at /fhir/StructureDefinition. */
  profileDefinitions(): StructureDefinition[];
  /** Parts of profiles that could not be compiled (uncheckable bindings, unsupported slicing). */
  profileNotes(): Record<string, string[]>;
}

const repoRoot = path.resolve(__dirname, '..', '..');

/** An OperationOutcome stays readable (and small) whatever the client sent. */
const MAX_ISSUES = 100;

function capped(issues: IssueDetail[]): IssueDetail[] {
  if (issues.length <= MAX_ISSUES) return issues;
  const more = issues.length - MAX_ISSUES;
  return [...issues.slice(0, MAX_ISSUES), { severity: 'error', code: 'too-costly', message: `${more} more issue${more > 1 ? 's' : ''} not shown` }];
}

let sharedModel: ElementModel | undefined;
let sharedInvariants: InvariantEngine | undefined;

/** Base model and base invariants are the same for every validator of the process: built once. */
function baseParts(): { model: ElementModel; invariants: InvariantEngine } {
  if (!sharedModel || !sharedInvariants) {
    sharedModel = baseElementModel();
    sharedInvariants = new InvariantEngine();
    for (const constraint of sharedModel.allConstraints()) sharedInvariants.prepare(constraint);
  }
  return { model: sharedModel, invariants: sharedInvariants };
}

export async function createValidator(options: CreateValidatorOptions = {}): Promise<CarnetValidator> {
  const profilesDir = options.profilesDir ?? path.join(repoRoot, 'profiles');
  const terminologyDir = options.terminologyDir ?? path.join(repoRoot, 'terminology');
  const { model, invariants } = baseParts();
  const schema = sharedSchemaValidator();
  const base = new BaseValidation(model, schema, invariants);
  const definitions = loadProfiles(profilesDir);
  const registry = new ProfileRegistry(model, definitions, loadTerminology([profilesDir, terminologyDir]), invariants);

  function profileIssues(resource: Record<string, unknown>, sound: boolean, requested: string[]): IssueDetail[] {
    const resourceType = String(resource.resourceType);
    const issues: IssueDetail[] = [];
    const meta = resource.meta as { profile?: unknown } | undefined;
    const claimed = Array.isArray(meta?.profile) ? meta.profile : [];
    const apply: string[] = [];
    claimed.forEach((url, index) => {
      if (typeof url !== 'string') return;
      if (registry.has(url)) apply.push(canonicalUrl(url));
      else issues.push({ severity: 'warning', code: 'not-found', message: `Profile ${url} is not known to this server: not checked`, expression: [`${resourceType}.meta.profile[${index}]`] });
    });
    for (const url of requested) {
      if (registry.has(url)) apply.push(canonicalUrl(url));
      else issues.push({ severity: 'error', code: 'not-found', message: `Profile ${url} is not known to this server` });
    }
    const implied = impliedProfiles(resource, (url) => registry.has(url));
    apply.push(...implied.profiles);
    issues.push(...implied.issues);
    for (const url of new Set(apply)) {
      const result = registry.check(url, resource, resourceType);
      issues.push(...result.issues);
      if (!sound) continue;
      for (const group of result.constraints) issues.push(...invariants.evaluate(group.sites, { resource, rootResource: resource }, group.severity));
    }
    return issues;
  }

  function validateResource(resource: unknown, validationOptions?: ValidationOptions): IssueDetail[] {
    const { issues, sound } = base.validate(resource);
    const known = typeof resource === 'object' && resource !== null && !Array.isArray(resource) && model.isResourceType(String((resource as Record<string, unknown>).resourceType));
    if (!known) return issues;
    const located = new Set(issues.filter(isErrorIssue).map((issue) => issue.expression?.[0]));
    const fromProfiles = profileIssues(resource as Record<string, unknown>, sound, validationOptions?.profiles ?? []);
    return [...issues, ...fromProfiles.filter((issue) => issue.code === 'invariant' || !located.has(issue.expression?.[0]))];
  }

  return {
    validate(resource: unknown, validationOptions?: ValidationOptions): IssueDetail[] {
      try {
        return capped(validateResource(resource, validationOptions));
      } catch (err) {
        // Last resort: client input must never become a 500 (the depth guards make this unreachable in practice).
        const tooDeep = err instanceof RangeError;
        const message = tooDeep ? 'The resource is too deeply nested to validate' : `The resource could not be validated: ${(err as Error).message}`;
        return [{ severity: 'error', code: tooDeep ? 'too-costly' : 'exception', message }];
      }
    },
    knownProfiles: () => registry.urls(),
    warmUp: () => schema.compileAll(),
    skippedInvariants: () => invariants.skipped(),
    profileDefinitions: () => definitions,
    profileNotes: () => registry.notes(),
  };
}
