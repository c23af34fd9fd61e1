/**
 * The search parameter registry: every SearchParameter definition (base R4
 * plus any in profiles/), keyed by resource type and code, with its FHIRPath
 * expression narrowed to that type and compiled once. Adding a parameter is
 * data: drop a SearchParameter resource into profiles/.
 * Never evaluates `resolve()`: `x.where(resolve() is T)` becomes a reference prefix test.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource, SearchParameter } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { allResourceTypes, baseSearchParameters } from '../kernel/definitions';
import { compileFastPath } from './fast-path';

export type SearchParamType = SearchParameter['type'];

export interface SearchParamDef {
  code: string;
  type: SearchParamType;
  base: string; // the resource type this entry is registered for
  expression?: string; // narrowed to `base`
  targets: string[];
  definition: SearchParameter;
  evaluate: (resource: Resource) => unknown[];
  /** Values with their FHIR type (`Identifier`, `dateTime`, `Boolean`…), for the indexer. */
  evaluateTyped: (resource: Resource) => TypedValue[];
}

export type { TypedValue } from './fast-path';
import type { TypedValue } from './fast-path';

/** Splits a FHIRPath union `a | b | c` at top level (not inside parentheses or quotes). */
export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quote = !quote;
    if (quote) continue;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter((part) => part.length > 0);
}

/**
 * `resolve() is Patient` cannot run synchronously: test the reference's type
 * segment instead (relative `Patient/1` or absolute `http://…/Patient/1`).
 */
export function rewriteResolve(expression: string): string {
  return expression.replace(/resolve\(\)\s+is\s+([A-Za-z]+)/g, "(reference.startsWith('$1/') or reference.contains('/$1/'))");
}

/** The typed evaluation through fhirpath.js (compiled at first use). */
export function fhirpathTypedEvaluator(expression: string): (resource: Resource) => TypedValue[] {
  let compiled: ((resource: never) => unknown) | undefined;
  return (resource) => {
    compiled ??= fhirpath.compile(expression, r4Model, { resolveInternalTypes: false }) as (resource: never) => unknown;
    const raw = compiled(resource as never) as unknown[];
    if (!Array.isArray(raw) || raw.length === 0) return [];
    const types = fhirpath.types(raw);
    const values = fhirpath.resolveInternalTypes(raw) as unknown[];
    return values.map((value, i) => ({ type: (types[i] ?? '').replace(/^(FHIR|System)\./, ''), value }));
  };
}

function narrow(expression: string, base: string): string | undefined {
  const generic = /^(\(*)(?:Resource|DomainResource)\./;
  const parts = splitUnion(expression).map((part) => part.replace(generic, `$1${base}.`)).filter((part) => {
    const bare = part.replace(/^\(+/, '');
    return bare.startsWith(`${base}.`) || bare === base || !/^[A-Z]/.test(bare);
  });
  return parts.length > 0 ? parts.join(' | ') : undefined;
}

export class SearchParameterRegistry {
  private readonly byType = new Map<string, Map<string, SearchParamDef>>();
  /** Counts additions, so caches derived from the registry know when to refresh. */
  revision = 0;

  constructor(definitions: SearchParameter[]) {
    for (const definition of definitions) this.add(definition);
  }

  add(definition: SearchParameter): void {
    this.revision++;
    const bases = (definition.base ?? []).flatMap((base) => (base === 'Resource' || base === 'DomainResource' ? [...allResourceTypes()] : [base]));
    for (const base of bases) {
      const expression = definition.expression ? narrow(rewriteResolve(definition.expression), base) : undefined;
      const fast = expression ? compileFastPath(expression, base, splitUnion) : undefined;
      const compiled = expression && !fast ? fhirpath.compile(expression, r4Model) : undefined;
      const def: SearchParamDef = {
        code: definition.code,
        type: definition.type,
        base,
        expression,
        targets: definition.target ?? [],
        definition,
        // plain paths walk the JSON directly (fast-path.ts); the rest runs through fhirpath.js
        evaluate: fast ? (resource) => fast(resource).map((v) => v.value) : compiled ? (resource) => compiled(resource as never) as unknown[] : () => [],
        evaluateTyped: fast ?? (expression ? fhirpathTypedEvaluator(expression) : () => []),
      };
      let map = this.byType.get(base);
      if (!map) this.byType.set(base, (map = new Map()));
      map.set(definition.code, def);
    }
  }

  get(resourceType: string, code: string): SearchParamDef | undefined {
    return this.byType.get(resourceType)?.get(code);
  }

  forType(resourceType: string): SearchParamDef[] {
    return [...(this.byType.get(resourceType)?.values() ?? [])];
  }

  /** Every resource type with at least one parameter. */
  types(): string[] {
    return [...this.byType.keys()];
  }

  definitions(): SearchParameter[] {
    const seen = new Set<SearchParameter>();
    for (const map of this.byType.values()) for (const def of map.values()) seen.add(def.definition);
    return [...seen];
  }
}

/**
 * SearchParameter resources found in a folder (each `*.json` file holding a
 * SearchParameter or a Bundle of them; other resources are skipped). A file
 * that is not JSON, or a parameter without code, type or base, throws naming
 * the file: a broken definition must stop the start, not be ignored.
 */
export function readSearchParameters(dir: string): SearchParameter[] {
  if (!fs.existsSync(dir)) return [];
  const found: SearchParameter[] = [];
  for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
    const full = path.join(dir, file);
    const parsed = JSON.parse(fs.readFileSync(full, 'utf8')) as Resource;
    const candidates = parsed.resourceType === 'Bundle' ? ((parsed as Bundle).entry ?? []).map((entry) => entry.resource) : [parsed];
    for (const candidate of candidates) {
      if (candidate?.resourceType !== 'SearchParameter') continue;
      const definition = candidate as SearchParameter;
      if (!definition.code || !definition.type || !definition.base?.length) throw new Error(`${full}: SearchParameter needs code, type and base`);
      if (definition.expression) fhirpath.compile(rewriteResolve(definition.expression), r4Model); // throws on a bad expression
      found.push(definition);
    }
  }
  return found;
}

/** Adds the SearchParameters of a folder (e.g. `profiles/`) to a registry; returns them. */
export function loadSearchParameters(registry: SearchParameterRegistry, dir: string): SearchParameter[] {
  const definitions = readSearchParameters(dir);
  for (const definition of definitions) registry.add(definition);
  return definitions;
}

/** A registry of the base R4 parameters plus those of `profilesDir` (a new instance: the shared one stays base-only). */
export function createRegistry(profilesDir?: string): SearchParameterRegistry {
  const registry = new SearchParameterRegistry(baseSearchParameters());
  if (profilesDir) loadSearchParameters(registry, profilesDir);
  return registry;
}

let shared: SearchParameterRegistry | undefined;

/** The registry of the base R4 parameters (built once per process; ~1,400 definitions). */
export function baseRegistry(): SearchParameterRegistry {
  if (!shared) shared = new SearchParameterRegistry(baseSearchParameters());
  return shared;
}
