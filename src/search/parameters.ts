/**
 * The search parameter registry: every SearchParameter definition (base R4
 * plus any in profiles/), keyed by resource type and code, with its FHIRPath
 * expression narrowed to that type and compiled once. Adding a parameter is
 * data: drop a SearchParameter resource into profiles/.
 * Never evaluates `resolve()`: `x.where(resolve() is T)` becomes a reference prefix test.
 */
import type { Resource, SearchParameter } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { allResourceTypes, baseSearchParameters } from '../fhir/definitions';

export type SearchParamType = SearchParameter['type'];

export interface SearchParamDef {
  code: string;
  type: SearchParamType;
  base: string; // the resource type this entry is registered for
  expression?: string; // narrowed to `base`
  targets: string[];
  definition: SearchParameter;
  evaluate: (resource: Resource) => unknown[];
}

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

/** `resolve() is Patient` cannot run synchronously: test the reference's prefix instead. */
export function rewriteResolve(expression: string): string {
  return expression.replace(/resolve\(\)\s+is\s+([A-Za-z]+)/g, "reference.startsWith('$1/')");
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

  constructor(definitions: SearchParameter[]) {
    for (const definition of definitions) this.add(definition);
  }

  add(definition: SearchParameter): void {
    const bases = (definition.base ?? []).flatMap((base) => (base === 'Resource' || base === 'DomainResource' ? [...allResourceTypes()] : [base]));
    for (const base of bases) {
      const expression = definition.expression ? narrow(rewriteResolve(definition.expression), base) : undefined;
      const compiled = expression ? fhirpath.compile(expression, r4Model) : undefined;
      const def: SearchParamDef = {
        code: definition.code,
        type: definition.type,
        base,
        expression,
        targets: definition.target ?? [],
        definition,
        evaluate: compiled ? (resource) => compiled(resource as never) as unknown[] : () => [],
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

  definitions(): SearchParameter[] {
    const seen = new Set<SearchParameter>();
    for (const map of this.byType.values()) for (const def of map.values()) seen.add(def.definition);
    return [...seen];
  }
}

let shared: SearchParameterRegistry | undefined;

/** The registry of the base R4 parameters (built once per process; ~1,400 definitions). */
export function baseRegistry(): SearchParameterRegistry {
  if (!shared) shared = new SearchParameterRegistry(baseSearchParameters());
  return shared;
}
