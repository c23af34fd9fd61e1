/**
 * The profiles of `profiles/`: every StructureDefinition JSON file there is
 * loaded at start, compiled once, and applied on demand by canonical URL
 * (a profile whose base is another known profile also applies its base).
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
 * by url, open or closed. Not enforced (listed by profileNotes()): nested
 * slicing, `type`/`profile` discriminators, bindings that need a terminology
 * server, type profiles on elements.
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
    const compiler = new ProfileCompiler(model, new ValueSetIndex(terminology));
    const urls = new Set(definitions.map((sd) => sd.url));
    for (const sd of definitions) {
      const profile = compiler.compile(sd, urls);
      this.compiled.set(sd.url, profile);
      for (const rule of profile.rules) for (const { constraint } of rule.constraints) invariants.prepare(constraint);
    }
    this.checker = new ProfileCheck(model);
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

  /** Checks `resource` against the profile and the known profiles it derives from. */
  check(url: string, resource: Record<string, unknown>, expression: string): ProfileCheckResult {
    const out: ProfileCheckResult = { issues: [], constraints: [] };
    const seen = new Set<string>();
    for (let current = this.compiled.get(canonicalUrl(url)); current && !seen.has(current.url); current = current.baseProfile ? this.compiled.get(current.baseProfile) : undefined) {
      seen.add(current.url);
      if (current.type !== resource.resourceType) {
        out.issues.push(wrongType(current, String(resource.resourceType), expression));
        break;
      }
      const result = this.checker.check(current, resource, expression);
      out.issues.push(...result.issues);
      out.constraints.push(...result.constraints);
    }
    return out;
  }
}

function wrongType(profile: CompiledProfile, resourceType: string, expression: string): IssueDetail {
  return { severity: 'error', code: 'invalid', message: `Profile ${profile.url} applies to ${profile.type} resources, not ${resourceType}`, expression: [expression] };
}
