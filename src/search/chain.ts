/**
 * Chaining (`subject:Patient.name=smith`, several levels) and reverse chaining
 * (`_has:Observation:patient:code=1234-5`, nestable). Both join the index of
 * references to the `resources` row on the other side and test that row with
 * the rest of the parameter, compiled for its own type. The other row must be
 * current (not deleted) and pass the access predicate of its type, inside the
 * subquery: a chain never reveals a resource the caller may not see.
 */
import { badRequest } from '../kernel/errors';
import { allResourceTypes } from '../kernel/definitions';
import type { CompileContext, FilterInput } from './filter';
import { codeOf, isKnownParameter } from './known';
import { targetTypeModifier } from './reference';
import { or, sql, type Sql } from './sql';

/** A row of `type`, visible to the caller and matching `key=value`. */
function visibleMatch(ctx: CompileContext, type: string, alias: string, key: string, value: string, name: string): Sql {
  const predicate = ctx.access(type).render(alias);
  const inner = ctx.compile(type, alias, key, value, name);
  return sql(`${alias}.resource_type = ? AND NOT ${alias}.deleted AND (${predicate.sql}) AND (${inner.sql})`, [type, ...predicate.bindings, ...inner.bindings]);
}

export function chainFilter(input: FilterInput, rest: string, value: string): Sql {
  const { ctx, def, name } = input;
  if (def.type !== 'reference') throw badRequest(`'${def.code}' is not a reference parameter and cannot be chained ('${name}')`, name);
  if (rest === '') throw badRequest(`Empty chain in '${name}'`, name);
  const named = targetTypeModifier(input);
  if (input.modifier !== undefined && named === undefined) throw badRequest(`Modifier ':${input.modifier}' cannot be chained ('${name}')`, name);
  const candidates = named ? [named] : def.targets.length > 0 ? def.targets : [...allResourceTypes()];
  const types = candidates.filter((type) => isKnownParameter(ctx.registry, type, rest));
  if (types.length === 0) throw badRequest(`No target of '${def.code}' has a search parameter '${codeOf(rest)}' ('${name}')`, name);
  const x = ctx.alias('x');
  const target = ctx.alias('r');
  const matches = or(types.map((type) => visibleMatch(ctx, type, target, rest, value, name)));
  return sql(
    `EXISTS (SELECT 1 FROM search_reference ${x} JOIN resources ${target} ON ${target}.resource_type = ${x}.target_type AND ${target}.id = ${x}.target_id` +
      ` WHERE ${x}.rid = ${input.alias}.rid AND ${x}.resource_type = ? AND ${x}.param = ? AND ${x}.url IS NULL AND (${matches.sql}))`,
    [input.resourceType, def.code, ...matches.bindings],
  );
}

/** `_has:Type:reference:rest=value`: some visible `Type` refers to this row through `reference` and matches `rest`. */
export function hasFilter(ctx: CompileContext, resourceType: string, alias: string, key: string, value: string, name: string): Sql {
  const parts = key.split(':');
  const [, sourceType, referenceCode] = parts;
  const rest = parts.slice(3).join(':');
  if (!sourceType || !referenceCode || rest === '') throw badRequest(`'${name}' must be _has:Type:reference:parameter`, name);
  if (!allResourceTypes().has(sourceType)) throw badRequest(`Unknown resource type '${sourceType}' in '${name}'`, name);
  const def = ctx.registry.get(sourceType, referenceCode);
  if (!def || def.type !== 'reference') throw badRequest(`'${referenceCode}' is not a reference parameter of ${sourceType} ('${name}')`, name);
  if (def.targets.length > 0 && !def.targets.includes(resourceType)) throw badRequest(`'${referenceCode}' of ${sourceType} cannot refer to ${resourceType} ('${name}')`, name);
  if (!isKnownParameter(ctx.registry, sourceType, rest)) throw badRequest(`Unknown search parameter '${codeOf(rest)}' for ${sourceType} in '${name}'`, name);
  const x = ctx.alias('x');
  const source = ctx.alias('r');
  const match = visibleMatch(ctx, sourceType, source, rest, value, name);
  return sql(
    `EXISTS (SELECT 1 FROM search_reference ${x} JOIN resources ${source} ON ${source}.rid = ${x}.rid` +
      ` WHERE ${x}.resource_type = ? AND ${x}.param = ? AND ${x}.url IS NULL AND ${x}.target_id = ${alias}.id AND ${x}.target_type = ${alias}.resource_type AND (${match.sql}))`,
    [sourceType, referenceCode, ...match.bindings],
  );
}
