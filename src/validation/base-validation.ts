/**
 * Validation of one resource against the base R4 specification: the JSON
 * schema, the structure walk (cardinalities, nulls, empties), nested
 * resources (contained, Bundle entries, Parameters) recursively with their
 * own paths, then the FHIRPath invariants, which only run when the structure
 * is sound (an invariant over a malformed element says nothing useful).
 * Never applies profiles: profiles.ts does, on top of this.
 */
import type { IssueDetail } from '../kernel/errors';
import type { ElementModel } from '../kernel/element-model';
import type { InvariantEngine, InvariantEnvironment } from './invariants';
import type { SchemaValidator } from './schema';
import { StructureWalk, type ConstraintSite } from './structure-walk';

/** Nested resources deeper than this are refused (a Bundle in a Bundle in a Bundle...). */
const MAX_RESOURCE_DEPTH = 8;

type JsonObject = Record<string, unknown>;

interface SiteGroup {
  sites: ConstraintSite[];
  env: InvariantEnvironment;
}

export function isErrorIssue(issue: IssueDetail): boolean {
  return issue.severity === undefined || issue.severity === 'error' || issue.severity === 'fatal';
}

/** Keeps the first issue reported for each location (the schema and the walk may both see it). */
export function dedupeByExpression(issues: IssueDetail[]): IssueDetail[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.severity}|${issue.expression?.[0] ?? ''}|${issue.code === 'invariant' ? issue.message : ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export class BaseValidation {
  private readonly walk: StructureWalk;

  constructor(
    private readonly model: ElementModel,
    private readonly schema: SchemaValidator,
    private readonly invariants: InvariantEngine,
  ) {
    this.walk = new StructureWalk(model);
  }

  /**
   * Issues of `resource` (any JSON value) against the base specification;
   * `sound` is false when the structure has errors (invariants were not run).
   */
  validate(resource: unknown): { issues: IssueDetail[]; sound: boolean } {
    const issues: IssueDetail[] = [];
    const groups: SiteGroup[] = [];
    this.resource(resource, undefined, undefined, 0, issues, groups);
    const structural = dedupeByExpression(issues);
    if (structural.some(isErrorIssue)) return { issues: structural, sound: false };
    for (const group of groups) structural.push(...this.invariants.evaluate(group.sites, group.env));
    return { issues: structural, sound: true };
  }

  private resource(resource: unknown, prefix: string | undefined, rootResource: unknown, depth: number, issues: IssueDetail[], groups: SiteGroup[]): void {
    const at = (name: string) => (prefix ? `${prefix}.${name}` : name);
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
      issues.push({ severity: 'error', code: 'structure', message: 'A resource must be a JSON object', expression: prefix ? [prefix] : undefined });
      return;
    }
    const object = resource as JsonObject;
    const resourceType = object.resourceType;
    if (typeof resourceType !== 'string') {
      issues.push({ severity: 'error', code: 'required', message: 'Missing resourceType', expression: [at('resourceType')] });
      return;
    }
    if (!this.model.isResourceType(resourceType)) {
      issues.push({ severity: 'error', code: 'structure', message: `Unknown resource type '${resourceType}'`, expression: [at('resourceType')] });
      return;
    }
    if (depth > MAX_RESOURCE_DEPTH) {
      issues.push({ severity: 'error', code: 'too-costly', message: `Resources nested deeper than ${MAX_RESOURCE_DEPTH} levels are not accepted`, expression: prefix ? [prefix] : undefined });
      return;
    }
    const expression = prefix ?? resourceType;
    const walked = this.walk.resource(object, expression);
    issues.push(...walked.issues);
    if (walked.tooDeep) return;
    issues.push(...this.schema.validate(this.model, object, expression));
    const root = rootResource ?? object;
    groups.push({ sites: walked.sites, env: { resource: object, rootResource: root } });
    for (const nested of walked.nested) {
      this.resource(nested.resource, nested.expression, nested.contained ? root : undefined, depth + 1, issues, groups);
    }
  }
}
