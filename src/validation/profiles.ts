/**
 * The profiles of `profiles/`: every StructureDefinition JSON file there is
 * loaded at start, compiled once, and applied on demand by canonical URL
 * (a profile whose base is another known profile also applies its base:
 * a differential is laid over its known bases, profile-elements.ts).
 * ValueSets and CodeSystems lying next to them serve required bindings.
 * Adding a profile is data: drop the file, restart. Never writes to the
 * directory and never fetches a profile from elsewhere.
 *
 * For profile authors — what is enforced (snapshot or differential):
 * min/max (also max 0), type restrictions of value[x], fixed[x] (exact) and
 * pattern[x] (contained: a patternCodeableConcept is met by a concept that
 * holds a coding with that system and code, among others), required bindings
 * to value sets checkable locally (see value-sets.ts), FHIRPath constraints
 * (severity error → error, warning → warning), and slicing with `value`,
 * `pattern` or `exists` discriminators (`$this` included), extension slices
 * by url, open or closed, `type`/`profile` discriminators on resources (a
 * Bundle entry slice: the resource's type and its conformance to a profile
 * of this directory, FHIRPath constraints aside), and the extension profiles
 * of this directory that an extension slice names (the extension's own value
 * and url rules). Not enforced (listed by profileNotes(), never failing a
 * resource): nested slicing, other `type`/`profile` discriminators (a closed
 * slicing with such a slice is applied as open), profiles of other
 * directories in a discriminator (matched on type), bindings that need a
 * terminology server,
 * datatype, resource or unknown type profiles (a datatype profile still
 * gives its fixed values to a slice discriminator), reference target
 * profiles, aggregation.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CodeSystem, StructureDefinition, ValueSet } from 'fhir/r4';
import type { IssueDetail } from '../kernel/errors';
import type { ElementModel } from '../kernel/element-model';
import type { InvariantEngine } from './invariants';
import { ProfileCheck, type ProfileCheckResult } from './profile-check';
import { ProfileCompiler, type CompiledProfile } from './profile-compile';
import { ValueSetIndex } from './value-sets';

type Conformance = StructureDefinition | ValueSet | CodeSystem;

function readJsonFiles(dir: string): Array<{ file: string; content: unknown }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      try {
        return { file, content: JSON.parse(fs.readFileSync(file, 'utf8')) as unknown };
      } catch (err) {
        throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
      }
    });
}

function conformanceResources(dir: string): Conformance[] {
  return readJsonFiles(dir)
    .map(({ content }) => content as Conformance)
    .filter((resource) => ['StructureDefinition', 'ValueSet', 'CodeSystem'].includes(resource?.resourceType));
}

/** The StructureDefinitions of a profiles directory, checked for what Carnet needs to apply them. */
export function loadProfiles(dir: string): StructureDefinition[] {
  const profiles = conformanceResources(dir).filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
  for (const sd of profiles) {
    if (!sd.url || !sd.type) throw new Error(`profile ${sd.id ?? '?'} in ${dir}: url and type are required`);
    if (!sd.snapshot?.element?.length && !sd.differential?.element?.length) throw new Error(`profile ${sd.url}: needs a snapshot or a differential`);
  }
  return profiles;
}

/** ValueSets and CodeSystems of the given directories (profiles/, terminology/). */
export function loadTerminology(dirs: string[]): Array<ValueSet | CodeSystem> {
  return dirs.flatMap((dir) => conformanceResources(dir).filter((r): r is ValueSet | CodeSystem => r.resourceType !== 'StructureDefinition'));
}

export const canonicalUrl = (url: string) => url.split('|')[0];

export class ProfileRegistry {
  private readonly compiled = new Map<string, CompiledProfile>();
  private readonly checker: ProfileCheck;

  constructor(
    model: ElementModel,
    readonly definitions: StructureDefinition[],
    terminology: Array<ValueSet | CodeSystem>,
    invariants: InvariantEngine,
  ) {
    const compiler = new ProfileCompiler(model, new ValueSetIndex(terminology), (url, resource, expression) => this.firstIssue(url, resource, expression));
    const known = new Map(definitions.map((sd) => [sd.url, sd]));
    for (const sd of definitions) {
      const profile = compiler.compile(sd, known);
      this.compiled.set(sd.url, profile);
      for (const rule of profile.rules) for (const { constraint } of rule.constraints) invariants.prepare(constraint);
    }
    this.checker = new ProfileCheck(model, (profileUrl) => this.compiled.get(profileUrl));
  }

  urls(): string[] {
    return [...this.compiled.keys()];
  }

  has(url: string): boolean {
    return this.compiled.has(canonicalUrl(url));
  }

  /** What could not be compiled, per profile (for operators and tests). */
  notes(): Record<string, string[]> {
    return Object.fromEntries([...this.compiled].map(([url, profile]) => [url, profile.notes]));
  }

  /** The first way `resource` breaks the profile's structural rules, if any (a `profile` discriminator's test). */
  private firstIssue(url: string, resource: Record<string, unknown>, expression: string): IssueDetail | undefined {
    const profile = this.compiled.get(url);
    if (!profile) return { severity: 'error', code: 'not-found', message: `Profile ${url} is not known`, expression: [expression] };
    if (profile.type !== resource.resourceType) return wrongType(profile, String(resource.resourceType), expression);
    return this.checker.check(profile, resource, expression).issues[0];
  }

  /** Checks `resource` against the profile (which carries the rules of the known profiles it derives from). */
  check(url: string, resource: Record<string, unknown>, expression: string): ProfileCheckResult {
    const profile = this.compiled.get(canonicalUrl(url));
    if (!profile) return { issues: [], constraints: [] };
    if (profile.type !== resource.resourceType) return { issues: [wrongType(profile, String(resource.resourceType), expression)], constraints: [] };
    return this.checker.check(profile, resource, expression);
  }
}

function wrongType(profile: CompiledProfile, resourceType: string, expression: string): IssueDetail {
  return { severity: 'error', code: 'invalid', message: `Profile ${profile.url} applies to ${profile.type} resources, not ${resourceType}`, expression: [expression] };
}
