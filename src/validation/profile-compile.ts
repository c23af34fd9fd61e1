/**
 * Turns a profile (a StructureDefinition with `derivation: constraint`) into
 * rules: per element, what it adds to the base type — a higher min, a lower
 * max, fewer types, a fixed[x] or pattern[x] value, a required binding to a
 * locally checkable value set, FHIRPath constraints, extension profiles known
 * locally (applied to the extension) — and
 * slices with value, pattern or exists discriminators (the discriminating
 * value may come from the slice's type profile, as IHE's identifier slices
 * do, or be a locally checkable required binding of a code), `type`/`profile` discriminators on resources (Bundle entries: the
 * type, and conformance to a known resource profile) and extension slices
 * by url. The snapshot is used when present, else
 * the differential laid over its known base profiles (profile-elements.ts);
 * what equals the base type is dropped (the base validation checks it).
 * What cannot be compiled is a note, never an error: a closed slicing with
 * a slice left out is then applied as open.
 * Never looks at an instance: profile-check.ts applies the rules.
 */
import type { ElementDefinition, ElementDefinitionType, StructureDefinition } from 'fhir/r4';
import { baseStructureDefinitions } from '../kernel/definitions';
import type { ConstraintDef, ElementModel, ElementNode, TypeNode } from '../kernel/element-model';
import { NATIVE_CONSTRAINTS } from '../kernel/element-model';
import { childNode } from './expression-path';
import { effectiveElements, elementOf, type KnownProfiles } from './profile-elements';
import type { ValueSetIndex, ValueSetMembership } from './value-sets';
import type { IssueDetail } from '../kernel/errors';

export interface ProfileConstraint {
  constraint: ConstraintDef;
  severity: 'error' | 'warning';
}

export interface ElementRule {
  id: string;
  /** Element names from the context (the resource, or a slice item); [] is the context itself. */
  segments: string[];
  min?: number;
  max?: number;
  types?: string[];
  fixed?: unknown;
  pattern?: unknown;
  binding?: ValueSetMembership;
  /** Canonical URLs of known profiles of the element's own type (datatype, extension), applied to each value. */
  profiles?: string[];
  constraints: ProfileConstraint[];
  slices: SliceRule[];
  closed: boolean;
}

export interface SliceRule {
  name: string;
  min?: number;
  max?: number;
  matches: (item: unknown) => boolean;
  /** Why an item of the slice's resource type is not in it (a `profile` discriminator): the first issue of that profile. */
  explain?: (item: unknown, expression: string) => IssueDetail | undefined;
  /** Rules relative to each matching item. */
  rules: ElementRule[];
}

export interface CompiledProfile {
  url: string;
  type: string;
  rules: ElementRule[];
  /** What could not be compiled (uncheckable bindings, unsupported slicing). */
  notes: string[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `pattern`: every property of the pattern is in the value; arrays: every pattern item matches some value item. */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    const items = Array.isArray(value) ? value : [value];
    return pattern.every((expected) => items.some((item) => matchesPattern(item, expected)));
  }
  if (isObject(pattern)) {
    return isObject(value) && Object.entries(pattern).every(([key, expected]) => value[key] !== undefined && matchesPattern(value[key], expected));
  }
  return value === pattern;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}

/** The value of the first `fixedX` / `patternX` property of an element definition. */
function prefixed(definition: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  const record = definition as unknown as Record<string, unknown>;
  const key = Object.keys(record).find((k) => k.startsWith(prefix) && /^[A-Z]/.test(k.slice(prefix.length)));
  return key === undefined ? undefined : record[key];
}

/** Values at a relative path (`coding.system`) of an instance item. */
export function valuesAt(item: unknown, segments: string[]): unknown[] {
  let current: unknown[] = [item];
  for (const segment of segments) {
    current = current.flatMap((value) => {
      if (!isObject(value)) return [];
      const key = segment.replace(/\[x]$/, '');
      const found = segment.endsWith('[x]') ? Object.keys(value).filter((k) => k.startsWith(key) && /^[A-Z]/.test(k.slice(key.length))).map((k) => value[k]) : [value[key]];
      return found.flatMap((v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]));
    });
  }
  return current;
}

interface ParsedId {
  /** Segments before the slice (or all of them). */
  path: string[];
  slice?: { name: string; relative: string[] };
  unsupported?: boolean;
}

function parseId(definition: ElementDefinition): ParsedId {
  const parts = (definition.id ?? definition.path).split('.').slice(1);
  const sliceAt = parts.findIndex((part) => part.includes(':'));
  if (sliceAt < 0) return { path: parts };
  const [name, sliceName] = parts[sliceAt].split(':');
  const relative = parts.slice(sliceAt + 1);
  return { path: [...parts.slice(0, sliceAt), name], slice: { name: sliceName, relative }, unsupported: relative.some((part) => part.includes(':')) };
}

export class ProfileCompiler {
  private known: KnownProfiles = new Map();
  private baseElements?: Map<string, ElementDefinition>;

  constructor(
    private readonly model: ElementModel,
    private readonly valueSets: ValueSetIndex,
    /** The first structural issue of a resource against a compiled profile, or undefined when it meets it (for `profile` discriminators; called at check time). */
    private readonly firstIssue: (url: string, resource: Record<string, unknown>, expression: string) => IssueDetail | undefined = () => undefined,
  ) {}

  compile(sd: StructureDefinition, known: KnownProfiles): CompiledProfile {
    this.known = known;
    const elements = effectiveElements(sd, known);
    const profile: CompiledProfile = { url: sd.url, type: sd.type, rules: [], notes: [] };
    const plain = new Map<string, ElementRule>();
    const slices = new Map<string, Map<string, { definition: ElementDefinition; children: ElementDefinition[] }>>();
    for (const definition of elements) {
      const parsed = parseId(definition);
      if (parsed.unsupported) {
        profile.notes.push(`${definition.id}: nested slicing is not supported (ignored)`);
        continue;
      }
      if (!parsed.slice) {
        const rule = this.rule(definition, sd.type, parsed.path, parsed.path, profile);
        if (rule) plain.set(parsed.path.join('.'), rule);
        continue;
      }
      const key = parsed.path.join('.');
      const bySlice = slices.get(key) ?? new Map();
      slices.set(key, bySlice);
      const entry = bySlice.get(parsed.slice.name) ?? { definition, children: [] };
      if (parsed.slice.relative.length === 0) entry.definition = definition;
      else entry.children.push(definition);
      bySlice.set(parsed.slice.name, entry);
    }
    for (const [key, bySlice] of slices) {
      const path = key.split('.');
      const owner = plain.get(key) ?? emptyRule(`${sd.type}.${key}`, path);
      plain.set(key, owner);
      const slicing = elements.find((e) => parseId(e).path.join('.') === key && !parseId(e).slice)?.slicing;
      owner.closed = slicing?.rules === 'closed';
      for (const [name, { definition, children }] of bySlice) {
        const slice = this.slice(sd.type, path, name, definition, children, slicing?.discriminator ?? [], profile);
        if (slice) owner.slices.push(slice);
        else if (owner.closed) {
          owner.closed = false;
          profile.notes.push(`${sd.type}.${key}: closed slicing applied as open (a slice is not supported)`);
        }
      }
    }
    profile.rules = [...plain.values()].filter((rule) => hasContent(rule));
    return profile;
  }

  private slice(
    type: string,
    path: string[],
    name: string,
    definition: ElementDefinition,
    children: ElementDefinition[],
    discriminators: NonNullable<ElementDefinition['slicing']>['discriminator'],
    profile: CompiledProfile,
  ): SliceRule | undefined {
    const relativeOf = (child: ElementDefinition) => parseId(child).slice?.relative ?? [];
    const rules: ElementRule[] = [];
    const self = this.rule(definition, type, path, [], profile);
    if (self) rules.push({ ...self, min: undefined, max: undefined });
    for (const child of children) {
      const rule = this.rule(child, type, [...path, ...relativeOf(child)], relativeOf(child), profile);
      if (rule) rules.push(rule);
    }
    const matchers: Array<(item: unknown) => boolean> = [];
    let explain: SliceRule['explain'];
    const extensionUrl = path[path.length - 1]?.endsWith('xtension') ? definition.type?.[0]?.profile?.[0] : undefined;
    const effective = discriminators?.length ? discriminators : extensionUrl ? [{ type: 'value' as const, path: 'url' }] : [];
    for (const discriminator of effective) {
      const relative = discriminator.path === '$this' ? [] : discriminator.path.split('.');
      const target =
        discriminator.path === '$this' ? definition : (children.find((c) => relativeOf(c).join('.') === discriminator.path) ?? this.fromTypeProfile(definition, relative));
      if (discriminator.type === 'exists' && target) {
        const mustExist = (target.min ?? 0) > 0;
        matchers.push((item) => valuesAt(item, relative).length > 0 === mustExist);
        continue;
      }
      const fixed = target ? prefixed(target, 'fixed') : discriminator.path === 'url' ? extensionUrl : undefined;
      const pattern = target ? prefixed(target, 'pattern') : undefined;
      if ((discriminator.type === 'value' || discriminator.type === 'pattern') && (fixed !== undefined || pattern !== undefined)) {
        matchers.push((item) => valuesAt(item, relative).some((value) => (fixed !== undefined ? deepEqual(value, fixed) : matchesPattern(value, pattern))));
        continue;
      }
      const bound = target?.binding?.strength === 'required' && target.binding.valueSet ? this.valueSets.membership(target.binding.valueSet) : undefined;
      if (discriminator.type === 'value' && bound) {
        // a required binding tells slices apart too (Bundle.entry:Folders.request.method from MHDprovideFolderActions)
        matchers.push((item) => valuesAt(item, relative).some((value) => typeof value === 'string' && bound.contains(undefined, value)));
        continue;
      }
      if (discriminator.type === 'value' || discriminator.type === 'pattern') {
        profile.notes.push(`${definition.id}: no fixed or pattern value for discriminator '${discriminator.path}' (not used for this slice)`);
        continue;
      }
      const byResource = discriminator.type === 'profile' || discriminator.type === 'type' ? this.resourceMatcher(discriminator.type, target, relative, definition.id ?? name, profile) : undefined;
      if (byResource) {
        matchers.push(byResource.matches);
        explain = byResource.explain;
        continue;
      }
      profile.notes.push(`${definition.id}: discriminator ${discriminator.type} '${discriminator.path}' is not supported (slice ignored)`);
      return undefined;
    }
    if (matchers.length === 0) {
      profile.notes.push(`${definition.id}: slice without a usable discriminator (ignored)`);
      return undefined;
    }
    return { name, min: definition.min, max: parseMax(definition.max), matches: (item) => matchers.every((match) => match(item)), explain, rules };
  }

  /**
   * A `type` or `profile` discriminator on a resource element (`Bundle.entry.resource`): the resource's type,
   * and for `profile` its conformance to one of the known resource profiles the slice names (structure
   * only: FHIRPath constraints do not take part). A profile not known here makes it a match on type.
   */
  private resourceMatcher(
    kind: 'profile' | 'type',
    target: ElementDefinition | undefined,
    relative: string[],
    id: string,
    profile: CompiledProfile,
  ): Pick<SliceRule, 'matches' | 'explain'> | undefined {
    const types = target?.type ?? [];
    if (types.length === 0 || types.some((t) => !this.model.isResourceType(t.code))) return undefined;
    const alternatives = types.map((t) => {
      const urls = kind === 'profile' ? (t.profile ?? []).map((u) => u.split('|')[0]).filter((u) => u !== `http://hl7.org/fhir/StructureDefinition/${t.code}`) : [];
      const unknown = urls.filter((u) => this.known.get(u)?.kind !== 'resource');
      if (unknown.length) profile.notes.push(`${id}: profile ${unknown.join(', ')} is not known here: the slice matches on type ${t.code} only`);
      return { code: t.code, profiles: unknown.length ? [] : urls };
    });
    const resources = (item: unknown) => valuesAt(item, relative).filter(isObject);
    const meets = (resource: Record<string, unknown>) =>
      alternatives.some((alt) => resource.resourceType === alt.code && (alt.profiles.length === 0 || alt.profiles.some((url) => !this.firstIssue(url, resource, alt.code))));
    return {
      matches: (item) => resources(item).some(meets),
      explain: (item, expression) => {
        const resource = resources(item)[0];
        const alt = resource && alternatives.find((candidate) => candidate.code === resource.resourceType && candidate.profiles.length > 0);
        return alt ? this.firstIssue(alt.profiles[0], resource, [expression, ...relative].join('.')) : undefined;
      },
    };
  }

  /** The definition of `relative` in the slice's (single, known) type profile: where IHE puts an identifier slice's `use`. */
  private fromTypeProfile(definition: ElementDefinition, relative: string[]): ElementDefinition | undefined {
    const url = definition.type?.length === 1 ? definition.type[0].profile?.[0] : undefined;
    return url ? elementOf(this.known.get(url.split('|')[0]), relative, this.known) : undefined;
  }

  /** The base specification's definition of an element id (`Patient.link.other`), to leave out what a snapshot repeats. */
  private baseElement(id: string): ElementDefinition | undefined {
    if (!this.baseElements) {
      this.baseElements = new Map();
      for (const sd of baseStructureDefinitions()) {
        if (sd.derivation === 'constraint') continue;
        for (const element of sd.snapshot?.element ?? []) this.baseElements.set(element.id ?? element.path, element);
      }
    }
    return this.baseElements.get(id);
  }

  /**
   * Type profiles applied to the element: known extension profiles (what an extension slice is). Datatype
   * profiles (IHE's UniqueIdIdentifier on masterIdentifier…) only lend their values to discriminators: the
   * published IHE and ANS examples do not meet them (no `use` on masterIdentifier), so they are notes.
   */
  private typeProfiles(definition: ElementDefinition, id: string, profile: CompiledProfile): string[] | undefined {
    const applied: string[] = [];
    const base = this.baseElement(id);
    const sameAsBase = (type: ElementDefinitionType) => base?.type?.some((b) => b.code === type.code && deepEqual(b.profile, type.profile) && deepEqual(b.targetProfile, type.targetProfile) && deepEqual(b.aggregation, type.aggregation));
    for (const type of definition.type ?? []) {
      if (sameAsBase(type)) continue;
      for (const url of type.profile ?? []) {
        const sd = this.known.get(url.split('|')[0]);
        if (sd && type.code === 'Extension' && sd.type === 'Extension') applied.push(sd.url);
        // an extension not defined here is checked by its url only (its slice's discriminator), as documented
        else if (sd?.kind === 'resource') profile.notes.push(`${id}: type profile ${url} is applied only through a profile discriminator`);
        else if (type.code !== 'Extension' && url !== `http://hl7.org/fhir/StructureDefinition/${type.code}`) profile.notes.push(`${id}: type profile ${url} is not applied`);
      }
      if (type.targetProfile?.length) profile.notes.push(`${id}: reference targets (${type.targetProfile.join(', ')}) are not checked`);
      if (type.aggregation?.length) profile.notes.push(`${id}: aggregation (${type.aggregation.join(', ')}) is not checked`);
    }
    return applied.length ? applied : undefined;
  }

  /** The rule for one element definition, or undefined when it adds nothing to the base. */
  private rule(definition: ElementDefinition, type: string, absolute: string[], segments: string[], profile: CompiledProfile): ElementRule | undefined {
    const base = this.baseAt(type, absolute);
    const rule = emptyRule(definition.id ?? definition.path, segments);
    const baseMin = base.element?.min ?? 0;
    const baseMax = base.element?.max ?? Infinity;
    if (absolute.length > 0 && definition.min !== undefined && definition.min > baseMin) rule.min = definition.min;
    const max = parseMax(definition.max);
    if (absolute.length > 0 && max !== undefined && max < baseMax) rule.max = max;
    const types = (definition.type ?? []).map((t) => t.code);
    if (base.element && types.length > 0 && types.length < base.element.keys.size) rule.types = types;
    rule.fixed = prefixed(definition, 'fixed');
    rule.pattern = prefixed(definition, 'pattern');
    rule.profiles = this.typeProfiles(definition, rule.id, profile);
    if (definition.binding?.strength === 'required' && definition.binding.valueSet) {
      rule.binding = this.valueSets.membership(definition.binding.valueSet);
      if (!rule.binding) profile.notes.push(`${rule.id}: value set ${definition.binding.valueSet} cannot be checked locally (binding skipped)`);
    }
    const baseKeys = new Set([...NATIVE_CONSTRAINTS, ...(base.element?.constraints ?? []).map((c) => c.key), ...(base.node?.constraints ?? []).map((c) => c.key)]);
    const basePath = [type, ...absolute].join('.');
    for (const constraint of definition.constraint ?? []) {
      if (baseKeys.has(constraint.key)) continue;
      if (!constraint.expression) profile.notes.push(`${rule.id}: constraint ${constraint.key} has no FHIRPath expression (not checked)`);
      if (!constraint.expression || (constraint.severity !== 'error' && constraint.severity !== 'warning')) continue;
      rule.constraints.push({ severity: constraint.severity, constraint: { key: constraint.key, human: constraint.human, expression: constraint.expression, base: basePath.replace(/\[x]/g, '') } });
    }
    return hasContent(rule) ? rule : undefined;
  }

  /** The base definition of an element path (through data types), for dropping what the base already says. */
  private baseAt(type: string, absolute: string[]): { element?: ElementNode; node?: TypeNode } {
    let node = this.model.type(type);
    let element: ElementNode | undefined;
    for (const segment of absolute) {
      const name = segment.replace(/\[x]$/, '');
      element = node?.byKey.get(name) ?? node?.elements.find((e) => e.name === name);
      if (!element) return {};
      const code = element.keys.get(name) ?? element.keys.values().next().value ?? '';
      node = element.keys.size === 1 ? childNode(this.model, element, code, false) : undefined;
    }
    return { element, node: absolute.length === 0 || element?.keys.size === 1 ? node : undefined };
  }
}

function parseMax(max: string | undefined): number | undefined {
  if (max === undefined) return undefined;
  return max === '*' ? Infinity : Number(max);
}

function emptyRule(id: string, segments: string[]): ElementRule {
  return { id, segments, constraints: [], slices: [], closed: false };
}

function hasContent(rule: ElementRule): boolean {
  return (
    rule.min !== undefined ||
    rule.max !== undefined ||
    rule.types !== undefined ||
    rule.fixed !== undefined ||
    rule.pattern !== undefined ||
    rule.binding !== undefined ||
    rule.profiles !== undefined ||
    rule.constraints.length > 0 ||
    rule.slices.length > 0
  );
}
