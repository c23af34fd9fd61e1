/**
 * What every typed filter shares: the compile context (registry, access
 * predicates, alias generator, recursion for chains) and the EXISTS probe into
 * an index table. Owns no parameter semantics; never runs a query.
 */
import type { RowPredicate } from '../kernel/predicate';
import { badRequest, FhirError } from '../kernel/errors';
import type { SearchParamDef, SearchParameterRegistry } from './parameters';
import { INDEX_TABLES, type IndexTable } from './tables';
import { sql, type Sql } from './sql';

export interface CompileContext {
  registry: SearchParameterRegistry;
  access: (resourceType: string) => RowPredicate;
  baseUrl?: string;
  /** A fresh SQL alias (`i3`, `r7`…) for nested subqueries. */
  alias: (prefix: string) => string;
  /** Compiles a parameter for another type (chains and `_has` recurse through it). */
  compile: (resourceType: string, alias: string, key: string, value: string, name: string) => Sql;
  /** `now` for `ap` on dates (fixed per search so one query sees one clock). */
  now: Date;
}

/** What every typed filter is given. */
export interface FilterInput {
  ctx: CompileContext;
  resourceType: string;
  alias: string; // the `resources` row being tested
  def: SearchParamDef;
  modifier?: string;
  values: string[]; // raw values (escapes kept), split at unescaped commas
  name: string; // the parameter as the client wrote it, for error messages
}

export function unsupportedModifier(input: FilterInput): FhirError {
  return badRequest(`Modifier ':${input.modifier}' is not supported for ${input.def.type} parameter '${input.def.code}'`, input.name);
}

/** `EXISTS (SELECT 1 FROM <table> i WHERE i.rid = r.rid AND param AND condition)`; `NOT EXISTS` when negated. */
export function indexExists(table: IndexTable, input: FilterInput, condition: (i: string) => Sql, negate = false): Sql {
  const i = input.ctx.alias('i');
  const cond = condition(i);
  return sql(
    `${negate ? 'NOT ' : ''}EXISTS (SELECT 1 FROM ${INDEX_TABLES[table].name} ${i} WHERE ${i}.rid = ${input.alias}.rid AND ${i}.resource_type = ? AND ${i}.param = ? AND (${cond.sql}))`,
    [input.resourceType, input.def.code, ...cond.bindings],
  );
}

