/**
 * FHIRPath constraints (`ElementDefinition.constraint`, severity error) of
 * the base spec and of profiles, compiled once with fhirpath.js and the R4
 * model, evaluated on the elements actually present (the structure walk
 * lists them). As in the HL7 validator, a constraint fails when it evaluates
 * to `false` or to nothing (per-1 with a date start and a dateTime end of
 * the same day); an evaluation error counts as passing (a server must not
 * reject on its engine's gaps).
 *
 * Skipped, and listed by `skipped()`:
 * - expressions using `resolve()` (needs other resources), `conformsTo()`,
 *   `memberOf()` (terminology server) or `htmlChecks()` (txt-1/txt-2: see
 *   narrative.ts for the cheap stand-in);
 * - expressions fhirpath.js cannot compile.
 * Checked natively instead of with FHIRPath: ele-1 and ext-1 (in
 * structure-walk.ts) and ref-1 (here), for speed; dom-3 (here), because
 * fhirpath.js throws on its R4 expression. A constraint is not evaluated on
 * a node that holds none of the elements it names when it is satisfied by an
 * empty node (invariant-guard.ts): dom-2/4/5 without `contained`, per-1 on
 * a Period with neither start nor end...
 * Evaluation errors are counted per key (`evaluationErrors()`) for diagnosis.
 * Never reads anything but the node, the resource and its root resource.
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { IssueDetail } from '../kernel/errors';
import type { ConstraintDef } from '../kernel/element-model';
import { mentionsAnyElement, referencedNames } from './invariant-guard';
import type { ConstraintSite } from './structure-walk';

export interface InvariantEnvironment {
  /** %resource: the resource the node belongs to. */
  resource: unknown;
  /** %rootResource: the container of a contained resource, else the resource itself. */
  rootResource: unknown;
}

type Evaluator = (node: unknown, env: InvariantEnvironment) => boolean;

export interface SkippedInvariant {
  key: string;
  expression: string;
  reason: string;
}

const UNSUPPORTED: Array<[RegExp, string]> = [
  [/\bresolve\(\)/, 'uses resolve(): needs the referenced resource'],
  [/\bconformsTo\(/, 'uses conformsTo(): needs profile resolution'],
  [/\bmemberOf\(/, 'uses memberOf(): needs a terminology server'],
  [/\bhtmlChecks\(/, 'uses htmlChecks(): narrative.ts applies a cheaper check'],
];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** ref-1: a local reference `#id` points at a contained resource of the root resource. */
function localReferenceResolves(node: unknown, env: InvariantEnvironment): boolean {
  const reference = isObject(node) ? node.reference : undefined;
  if (typeof reference !== 'string' || !reference.startsWith('#') || reference === '#') return true;
  const root = env.rootResource;
  const contained = isObject(root) && Array.isArray(root.contained) ? root.contained : [];
  return contained.some((resource) => isObject(resource) && resource.id === reference.slice(1));
}

/** Every string starting with `#` anywhere under `value` (references, canonicals, uris). */
function localPointers(value: unknown, into: Set<string>): Set<string> {
  if (typeof value === 'string') {
    if (value.startsWith('#')) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) localPointers(item, into);
  } else if (isObject(value)) {
    for (const item of Object.values(value)) localPointers(item, into);
  }
  return into;
}

/**
 * dom-3: every contained resource is referenced from elsewhere in the resource
 * (or references its container with `#`). fhirpath.js throws on the R4
 * expression (`descendants().as(canonical)` on a collection), so it is native.
 */
function containedAreReferenced(node: unknown): boolean {
  if (!isObject(node) || !Array.isArray(node.contained) || node.contained.length === 0) return true;
  const pointers = localPointers(node, new Set());
  return node.contained.every(
    (resource) => !isObject(resource) || typeof resource.id !== 'string' || pointers.has(`#${resource.id}`) || localPointers(resource, new Set()).has('#'),
  );
}

const NATIVE: Record<string, Evaluator> = { 'ref-1': localReferenceResolves, 'dom-3': containedAreReferenced };

const noTrace = () => undefined;

export interface InvariantEngineOptions {
  /** Skip constraints on nodes holding none of their path roots (default true; false to cross-check it). */
  guard?: boolean;
}

export class InvariantEngine {
  constructor(private readonly options: InvariantEngineOptions = {}) {}

  private readonly compiled = new Map<string, Evaluator | null>();
  private readonly byDefinition = new WeakMap<ConstraintDef, Evaluator | null>();
  private readonly skips = new Map<string, SkippedInvariant>();
  private readonly errors = new Map<string, string>();

  /** Compiles (once) and returns the evaluator, or undefined when the constraint is skipped. */
  prepare(constraint: ConstraintDef): Evaluator | undefined {
    const known = this.byDefinition.get(constraint);
    if (known !== undefined) return known ?? undefined;
    const evaluator = this.prepareByText(constraint);
    this.byDefinition.set(constraint, evaluator ?? null);
    return evaluator;
  }

  private prepareByText(constraint: ConstraintDef): Evaluator | undefined {
    const cacheKey = `${constraint.base}\u0000${constraint.key}\u0000${constraint.expression}`;
    const cached = this.compiled.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    const evaluator = this.build(constraint);
    this.compiled.set(cacheKey, evaluator ?? null);
    return evaluator;
  }

  private build(constraint: ConstraintDef): Evaluator | undefined {
    const native = NATIVE[constraint.key];
    if (native) return native;
    const unsupported = UNSUPPORTED.find(([pattern]) => pattern.test(constraint.expression));
    if (unsupported) return this.skip(constraint, unsupported[1]);
    let compiled: (node: unknown, env: InvariantEnvironment) => unknown[];
    try {
      const fn = fhirpath.compile({ base: constraint.base, expression: constraint.expression }, r4Model, { traceFn: noTrace });
      compiled = (node, env) => fn(node, { resource: env.resource, rootResource: env.rootResource }) as unknown[];
    } catch (err) {
      return this.skip(constraint, `fhirpath.js cannot compile it: ${(err as Error).message.split('\n')[0]}`);
    }
    const run = (node: unknown, env: InvariantEnvironment): boolean => {
      try {
        const result = compiled(node, env);
        if (result.length === 0) return false; // as the HL7 validator: an empty result does not satisfy the constraint
        return !(result.length === 1 && result[0] === false);
      } catch (err) {
        this.errors.set(constraint.key, (err as Error).message.split('\n')[0]);
        return true;
      }
    };
    if (this.options.guard === false) return run;
    const names = referencedNames(constraint.expression);
    const satisfiedWhenEmpty = names !== undefined && run({}, { resource: {}, rootResource: {} });
    if (!names || !satisfiedWhenEmpty) return run;
    return (node, env) => (isObject(node) && !mentionsAnyElement(node, names) ? true : run(node, env));
  }

  private skip(constraint: ConstraintDef, reason: string): undefined {
    this.skips.set(constraint.key, { key: constraint.key, expression: constraint.expression, reason });
    return undefined;
  }

  /** Evaluates every site; one issue per failing constraint and node. */
  evaluate(sites: ConstraintSite[], env: InvariantEnvironment, severity: IssueDetail['severity'] = 'error'): IssueDetail[] {
    const issues: IssueDetail[] = [];
    for (const site of sites) {
      const evaluator = this.prepare(site.constraint);
      if (evaluator && !evaluator(site.node, env)) {
        issues.push({ severity, code: 'invariant', message: `${site.constraint.key}: ${site.constraint.human}`, expression: [site.expression] });
      }
    }
    return issues;
  }

  /** Constraints whose evaluation threw at least once (they count as passing), with the last error. */
  evaluationErrors(): Map<string, string> {
    return new Map(this.errors);
  }

  skipped(): SkippedInvariant[] {
    return [...this.skips.values()].sort((a, b) => a.key.localeCompare(b.key));
  }
}
