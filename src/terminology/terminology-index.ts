/**
 * The code systems and value sets Carnet serves (terminology/, profiles/),
 * held in memory for the terminology operations: a concept of a code system
 * by system and code, the concepts of a value set (its expansion, with
 * displays), and the text match of `$expand`'s filter (case- and
 * accent-insensitive). Read-only data built once at start; never calls out
 * to another terminology server: what is not held here is unknown.
 */
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from 'fhir/r4';
import { FhirError } from '../kernel/errors';

/** One concept as the operations answer it: its code system, code, display and what the code system says of it. */
export interface Concept {
  system: string;
  version?: string;
  code: string;
  display?: string;
  /** The code system's own definition of the concept, when there is one. */
  concept?: CodeSystemConcept;
  /** Codes of the concept's parent and children in its code system's hierarchy. */
  parent?: string;
  children: string[];
}

const canonical = (url: string) => url.split('|')[0];

/** Lower case, without accents or surrounding spaces: "Médecin" and "medecin " match. */
export function foldText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

export class TerminologyIndex {
  private readonly systems = new Map<string, CodeSystem>();
  private readonly concepts = new Map<string, Map<string, Concept>>();
  private readonly sets = new Map<string, ValueSet>();
  private readonly expansions = new Map<string, Concept[]>();

  constructor(resources: ReadonlyArray<CodeSystem | ValueSet>) {
    for (const resource of resources) {
      if (!resource.url) continue;
      if (resource.resourceType === 'CodeSystem' && !this.systems.has(canonical(resource.url))) this.addCodeSystem(resource);
      if (resource.resourceType === 'ValueSet' && !this.sets.has(canonical(resource.url))) this.sets.set(canonical(resource.url), resource);
    }
  }

  private addCodeSystem(system: CodeSystem): void {
    const url = canonical(system.url as string);
    this.systems.set(url, system);
    const byCode = new Map<string, Concept>();
    const walk = (items: CodeSystemConcept[] | undefined, parent?: string) => {
      for (const item of items ?? []) {
        byCode.set(item.code, { system: url, version: system.version, code: item.code, display: item.display, concept: item, parent, children: (item.concept ?? []).map((child) => child.code) });
        walk(item.concept, item.code);
      }
    };
    walk(system.concept);
    this.concepts.set(url, byCode);
  }

  codeSystems(): CodeSystem[] {
    return [...this.systems.values()];
  }

  valueSets(): ValueSet[] {
    return [...this.sets.values()];
  }

  codeSystem(url: string): CodeSystem | undefined {
    return this.systems.get(canonical(url));
  }

  valueSet(url: string): ValueSet | undefined {
    return this.sets.get(canonical(url));
  }

  /** The code system of an instance-level operation (`CodeSystem/{id}/$op`): 404 when there is none. */
  codeSystemById(id: string): CodeSystem {
    const found = this.codeSystems().find((system) => system.id === id);
    if (!found) throw new FhirError(404, 'not-found', `CodeSystem/${id} is not known`);
    return found;
  }

  /** The value set of an instance-level operation (`ValueSet/{id}/$op`): 404 when there is none. */
  valueSetById(id: string): ValueSet {
    const found = this.valueSets().find((set) => set.id === id);
    if (!found) throw new FhirError(404, 'not-found', `ValueSet/${id} is not known`);
    return found;
  }

  /** The concept `code` of code system `system`, undefined when the system does not hold it. */
  concept(system: string, code: string): Concept | undefined {
    return this.concepts.get(canonical(system))?.get(code);
  }

  /**
   * Every concept of a value set, in the order of its includes, excludes
   * removed. 422 when it cannot be expanded here (a filter, or a whole code
   * system this server does not hold).
   */
  expand(valueSet: ValueSet): Concept[] {
    const key = valueSet.url ? canonical(valueSet.url) : undefined;
    const cached = key !== undefined && this.sets.get(key) === valueSet ? this.expansions.get(key) : undefined;
    if (cached) return cached;
    const concepts = this.expandCompose(valueSet, new Set());
    if (key !== undefined && this.sets.get(key) === valueSet) this.expansions.set(key, concepts);
    return concepts;
  }

  private expandCompose(valueSet: ValueSet, visiting: Set<string>): Concept[] {
    if (valueSet.url) {
      if (visiting.has(valueSet.url)) throw notExpandable(valueSet, 'it includes itself');
      visiting.add(valueSet.url);
    }
    const seen = new Map<string, Concept>();
    for (const include of valueSet.compose?.include ?? []) {
      for (const concept of this.included(valueSet, include, visiting)) seen.set(`${concept.system}|${concept.code}`, seen.get(`${concept.system}|${concept.code}`) ?? concept);
    }
    for (const exclude of valueSet.compose?.exclude ?? []) {
      for (const concept of this.included(valueSet, exclude, visiting)) seen.delete(`${concept.system}|${concept.code}`);
    }
    return [...seen.values()];
  }

  private included(valueSet: ValueSet, include: ValueSetComposeInclude, visiting: Set<string>): Concept[] {
    if (include.filter && include.filter.length > 0) throw notExpandable(valueSet, 'it uses a filter');
    const fromSets = (include.valueSet ?? []).map((url) => {
      const other = this.valueSet(url);
      if (!other) throw notExpandable(valueSet, `it includes the unknown value set ${url}`);
      return this.expandCompose(other, visiting);
    });
    if (!include.system) return fromSets.flat();
    const system = include.system;
    const own = include.concept
      ? include.concept.map((item) => {
          const known = this.concept(system, item.code);
          return known ? { ...known, display: item.display ?? known.display } : { system, version: include.version, code: item.code, display: item.display, children: [] };
        })
      : this.wholeSystem(valueSet, system);
    if (fromSets.length === 0) return own;
    return own.filter((concept) => fromSets.every((set) => set.some((other) => other.system === concept.system && other.code === concept.code)));
  }

  private wholeSystem(valueSet: ValueSet, system: string): Concept[] {
    const concepts = this.concepts.get(canonical(system));
    if (!concepts) throw notExpandable(valueSet, `it includes the whole code system ${system}, which this server does not hold`);
    return [...concepts.values()];
  }
}

function notExpandable(valueSet: ValueSet, why: string): FhirError {
  return new FhirError(422, 'too-costly', `the value set ${valueSet.url ?? valueSet.id ?? ''} cannot be expanded here: ${why}`);
}
