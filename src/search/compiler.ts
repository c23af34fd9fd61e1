/**
 * The query compiler: one search parameter (`name[:modifier][.chain]=values`)
 * becomes a SQL condition over a `resources` row alias, by way of EXISTS
 * subqueries into the index tables. Dispatches by parameter type to
 * string.ts, token.ts, date.ts, number.ts, reference.ts, uri.ts and chain.ts.
 * Every other resource a condition looks at (chains, `_has`) is filtered by
 * the access predicate of its type inside the subquery: a condition never
 * depends on a row the caller may not see. Bad input throws a 400 naming the
 * parameter; it never yields a 500.
 */
import { badRequest } from '../kernel/errors';
import type { SearchParamDef } from './parameters';
import { isKnownParameter } from './known';
import type { IndexTable } from './tables';
import { indexExists, type CompileContext, type FilterInput } from './filter';
import { splitEscaped } from './text';
import { or, sql, type Sql } from './sql';
import { stringFilter } from './string';
import { idFilter, tokenFilter } from './token';
import { dateFilter, lastUpdatedFilter } from './date';
import { numberFilter, quantityFilter } from './number';
import { referenceFilter } from './reference';
import { uriFilter } from './uri';
import { chainFilter, hasFilter } from './chain';

export function newContext(base: Omit<CompileContext, 'alias' | 'compile'>): CompileContext {
  let counter = 0;
  const ctx: CompileContext = {
    ...base,
    alias: (prefix) => `${prefix}${++counter}`,
    compile: (resourceType, alias, key, value, name) => compileFilter(ctx, resourceType, alias, key, value, name),
  };
  return ctx;
}

function missingFilter(input: FilterInput, table: IndexTable): Sql {
  const value = input.values.join(',');
  if (value !== 'true' && value !== 'false') throw badRequest(`'${input.name}' takes true or false`, input.name);
  return indexExists(table, { ...input, modifier: undefined }, () => sql('TRUE'), value === 'true');
}

/** Limits that keep one query within what PostgreSQL accepts (65,535 bindings) and plans quickly. */
export const MAX_VALUES = 1000;
export const MAX_DEPTH = 5;

export function compileFilter(ctx: CompileContext, resourceType: string, alias: string, key: string, value: string, name: string): Sql {
  if (key === name) {
    const depth = (key.match(/\./g)?.length ?? 0) + (key.match(/_has:/g)?.length ?? 0);
    if (depth > MAX_DEPTH) throw badRequest(`'${name}' chains more than ${MAX_DEPTH} levels`, name);
  }
  if (key.startsWith('_has:')) return hasFilter(ctx, resourceType, alias, key, value, name);
  const dot = key.indexOf('.');
  const head = dot >= 0 ? key.slice(0, dot) : key;
  const colon = head.indexOf(':');
  const code = colon >= 0 ? head.slice(0, colon) : head;
  const modifier = colon >= 0 ? head.slice(colon + 1) : undefined;
  const values = splitEscaped(value, ',');
  if (values.length > MAX_VALUES) throw badRequest(`'${name}' has more than ${MAX_VALUES} values`, name);
  if (code === '_id') return idFilter(alias, modifier, values, name);
  if (code === '_lastUpdated') return lastUpdatedFilter(ctx, alias, modifier, values, name);
  const def = ctx.registry.get(resourceType, code);
  if (!def || !isKnownParameter(ctx.registry, resourceType, code)) {
    throw badRequest(`Unknown or unsupported search parameter '${code}' for ${resourceType}`, name);
  }
  const input: FilterInput = { ctx, resourceType, alias, def, modifier, values, name };
  if (dot >= 0) {
    const chained = chainFilter(input, key.slice(dot + 1), value);
    const declared = declaredChain(input, key.slice(dot + 1));
    return declared ? or([chained, typedFilter(declared)]) : chained;
  }
  return typedFilter(input);
}

/**
 * A project parameter coded as a chain itself (`author.given`, `source.family`:
 * profiles/) reaches what the chain cannot — the contained resources the
 * reference points to (`#id`), which have no row of their own. It joins the
 * chain (OR) when the chain is one level deep, names no target type and uses
 * no `:missing` (the chain alone answers those).
 */
function declaredChain(input: FilterInput, rest: string): FilterInput | undefined {
  if (input.modifier !== undefined || rest.includes('.')) return undefined;
  const [code, modifier] = rest.split(':');
  const def = input.ctx.registry.get(input.resourceType, `${input.def.code}.${code}`);
  if (!def || def.type === 'reference' || modifier === 'missing') return undefined;
  return { ...input, def, modifier };
}

function typedFilter(input: FilterInput): Sql {
  const { def, modifier } = input;
  const table = tableOf(def);
  if (modifier === 'missing') return missingFilter(input, table);
  switch (def.type) {
    case 'string':
      return stringFilter(input);
    case 'token':
      return tokenFilter(input);
    case 'date':
      return dateFilter(input);
    case 'number':
      return numberFilter(input);
    case 'quantity':
      return quantityFilter(input);
    case 'reference':
      return referenceFilter(input);
    case 'uri':
      return uriFilter(input);
    default:
      throw badRequest(`Search parameter '${def.code}' of type ${def.type} is not supported`, input.name);
  }
}

function tableOf(def: SearchParamDef): IndexTable {
  const table = (['string', 'token', 'reference', 'date', 'number', 'quantity', 'uri'] as const).find((t) => t === def.type);
  if (!table) throw badRequest(`Search parameter '${def.code}' of type ${def.type} is not supported`, def.code);
  return table;
}
