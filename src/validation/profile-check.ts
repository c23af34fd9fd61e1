/**
 * Applies a compiled profile's rules to one resource: cardinalities (per
 * parent element, and per slice), allowed types, fixed and pattern values,
 * required bindings, closed slicing, the rules of an element's type profile
 * (a datatype or extension profile, applied to each value of the element);
 * FHIRPath constraints are returned as sites for the invariant engine,
 * which runs them only on sound structure.
 * Never changes the resource and never resolves references.
 */
import type { IssueDetail } from '../kernel/errors';
import type { ElementModel, TypeNode } from '../kernel/element-model';
import { childNode, indexExpression, memberExpression } from './expression-path';
import { deepEqual, matchesPattern, type CompiledProfile, type ElementRule, type ProfileConstraint } from './profile-compile';
import type { ConstraintSite } from './structure-walk';
import type { ValueSetMembership } from './value-sets';

/** An element of the instance being checked. */
interface Focus {
  value: unknown;
  expression: string;
  node: TypeNode | undefined;
  type?: string;
}

export interface ProfileSites {
  severity: ProfileConstraint['severity'];
  sites: ConstraintSite[];
}

export interface ProfileCheckResult {
  issues: IssueDetail[];
  constraints: ProfileSites[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function render(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `system|code` pairs carried by a code, Coding or CodeableConcept value. */
function codesOf(value: unknown): Array<[string | undefined, string]> {
  if (typeof value === 'string') return [[undefined, value]];
  if (!isObject(value)) return [];
  if (typeof value.code === 'string') return [[typeof value.system === 'string' ? value.system : undefined, value.code]];
  if (Array.isArray(value.coding)) return value.coding.flatMap((coding) => codesOf(coding));
  return [];
}

export class ProfileCheck {
  /** Type profiles being applied (a profile that names itself as a type profile is applied once). */
  private readonly applying = new Set<string>();

  constructor(
    private readonly model: ElementModel,
    private readonly profileOf: (url: string) => CompiledProfile | undefined,
  ) {}

  check(profile: CompiledProfile, resource: Record<string, unknown>, expression: string): ProfileCheckResult {
    const out: ProfileCheckResult = { issues: [], constraints: [] };
    const root: Focus = { value: resource, expression, node: this.model.type(profile.type), type: profile.type };
    // re-entrant: a `profile` discriminator checks an entry's resource while its Bundle is being checked
    const outer = [...this.applying];
    this.applying.add(profile.url);
    this.apply(profile, profile.rules, [root], out);
    this.applying.clear();
    for (const url of outer) this.applying.add(url);
    return out;
  }

  private applyTypeProfiles(urls: string[], focus: Focus, out: ProfileCheckResult): void {
    for (const url of urls) {
      const typeProfile = this.profileOf(url);
      if (!typeProfile || this.applying.has(url) || (focus.type !== undefined && focus.type !== typeProfile.type)) continue;
      this.applying.add(url);
      this.apply(typeProfile, typeProfile.rules, [{ ...focus, node: focus.node ?? this.model.type(typeProfile.type) }], out);
      this.applying.delete(url);
    }
  }

  private apply(profile: CompiledProfile, rules: ElementRule[], contexts: Focus[], out: ProfileCheckResult): void {
    for (const rule of rules) {
      if (rule.segments.length === 0) {
        for (const context of contexts) this.checkValue(profile, rule, context, out);
        continue;
      }
      const name = rule.segments[rule.segments.length - 1];
      for (const parent of this.navigate(contexts, rule.segments.slice(0, -1))) {
        const items = this.children(parent, name);
        const at = `${parent.expression}.${name.replace(/\[x]$/, '')}`;
        this.cardinality(profile, rule.id, rule.min, rule.max, items.length, at, out);
        for (const item of items) this.checkValue(profile, rule, item, out);
        if (rule.slices.length > 0) this.slices(profile, rule, items, at, out);
      }
    }
  }

  private slices(profile: CompiledProfile, rule: ElementRule, items: Focus[], at: string, out: ProfileCheckResult): void {
    const matched = new Set<Focus>();
    for (const slice of rule.slices) {
      const matching = items.filter((item) => slice.matches(item.value));
      for (const item of matching) matched.add(item);
      this.cardinality(profile, `${rule.id}:${slice.name}`, slice.min, slice.max, matching.length, at, out);
      this.apply(profile, slice.rules, matching, out);
    }
    if (!rule.closed) return;
    for (const item of items) {
      if (matched.has(item)) continue;
      const issue = this.issue(profile, 'structure', `${rule.id}: this element matches no slice and the slicing is closed`, item.expression);
      // an entry of a slice's resource type that fails the slice's profile: say how (Bundle.entry[1].resource.custodian)
      const why = rule.slices.map((slice) => ({ slice, reason: slice.explain?.(item.value, item.expression) })).find(({ reason }) => reason);
      if (why?.reason) {
        issue.message = `${rule.id}: this element matches no slice and the slicing is closed; as ${why.slice.name}: ${why.reason.message}`;
        issue.expression = [item.expression, ...(why.reason.expression ?? [])];
      }
      out.issues.push(issue);
    }
  }

  private cardinality(profile: CompiledProfile, id: string, min: number | undefined, max: number | undefined, count: number, at: string, out: ProfileCheckResult): void {
    if (min !== undefined && count < min) out.issues.push(this.issue(profile, 'required', `${id}: minimum required = ${min}, but only found ${count}`, at));
    if (max !== undefined && count > max) {
      const message = max === 0 ? `${id}: this element is not allowed` : `${id}: maximum allowed = ${max}, but found ${count}`;
      out.issues.push(this.issue(profile, 'structure', message, at));
    }
  }

  private checkValue(profile: CompiledProfile, rule: ElementRule, focus: Focus, out: ProfileCheckResult): void {
    if (rule.types && focus.type && !rule.types.includes(focus.type)) {
      out.issues.push(this.issue(profile, 'structure', `${rule.id}: type ${focus.type} is not allowed (allowed: ${rule.types.join(', ')})`, focus.expression));
    }
    if (rule.fixed !== undefined && !deepEqual(focus.value, rule.fixed)) {
      out.issues.push(this.issue(profile, 'value', `${rule.id}: value must be exactly ${render(rule.fixed)}`, focus.expression));
    }
    if (rule.pattern !== undefined && !matchesPattern(focus.value, rule.pattern)) {
      out.issues.push(this.issue(profile, 'value', `${rule.id}: value must match the pattern ${render(rule.pattern)}`, focus.expression));
    }
    if (rule.binding && !this.bound(rule.binding, focus.value)) {
      out.issues.push(this.issue(profile, 'code-invalid', `${rule.id}: the code is not in the required value set ${rule.binding.url}`, focus.expression));
    }
    if (rule.profiles) this.applyTypeProfiles(rule.profiles, focus, out);
    for (const { constraint, severity } of rule.constraints) {
      let group = out.constraints.find((g) => g.severity === severity);
      if (!group) out.constraints.push((group = { severity, sites: [] }));
      group.sites.push({ constraint, node: focus.value, expression: focus.expression });
    }
  }

  private bound(binding: ValueSetMembership, value: unknown): boolean {
    return codesOf(value).some(([system, code]) => binding.contains(system, code));
  }

  private navigate(contexts: Focus[], segments: string[]): Focus[] {
    let current = contexts;
    for (const segment of segments) current = current.flatMap((focus) => this.children(focus, segment));
    return current;
  }

  /** The instance elements named `segment` (`value[x]` matches every `valueX`) under `focus`. */
  private children(focus: Focus, segment: string): Focus[] {
    if (!isObject(focus.value)) return [];
    const object = focus.value;
    const name = segment.replace(/\[x]$/, '');
    const element = focus.node?.byKey.get(name) ?? focus.node?.elements.find((e) => e.name === name);
    if (!element) return this.rawChildren(object, name, focus.expression);
    const keys = element.choice && !segment.endsWith('[x]') && element.keys.has(segment) ? [segment] : [...element.keys.keys()];
    const out: Focus[] = [];
    for (const key of keys) {
      const value = object[key];
      const companion = object[`_${key}`];
      if (value === undefined && companion === undefined) continue;
      const code = element.keys.get(key) ?? '';
      const node = childNode(this.model, element, code, false);
      const expression = memberExpression(focus.expression, element, key);
      const values = Array.isArray(value) ? value : Array.isArray(companion) ? companion.map(() => null) : [value ?? null];
      values.forEach((item, index) => {
        if (item === null && !(Array.isArray(companion) ? companion[index] : companion)) return;
        out.push({ value: item, expression: element.isArray ? indexExpression(expression, index) : expression, node, type: code });
      });
    }
    return out;
  }

  private rawChildren(object: Record<string, unknown>, name: string, parent: string): Focus[] {
    const value = object[name];
    if (value === undefined || value === null) return [];
    const items = Array.isArray(value) ? value : [value];
    return items.map((item, index) => ({ value: item, expression: Array.isArray(value) ? `${parent}.${name}[${index}]` : `${parent}.${name}`, node: undefined }));
  }

  private issue(profile: CompiledProfile, code: IssueDetail['code'], message: string, expression: string): IssueDetail {
    return { severity: 'error', code, message: `${message} (profile ${profile.url})`, expression: [expression] };
  }
}
