/**
 * Reference parameters (search.html#reference): `Type/id`, a bare `id`
 * (any target type of the parameter, or the one named by `:Type`), an
 * absolute URL (on our base: the local resource; elsewhere: that URL), a
 * canonical URL (with or without `|version`), and `:identifier` on
 * Reference.identifier. Conditional references (`Patient?identifier=…`) are
 * not search values: 400. Chains live in chain.ts.
 */
import { badRequest } from '../kernel/errors';
import { allResourceTypes } from '../kernel/definitions';
import { indexExists, type FilterInput } from './filter';
import { parseReference } from '../kernel/reference';
import { unescapeValue } from './text';
import { list, or, sql, type Sql } from './sql';
import { parseToken, tokenCondition } from './token';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The target type named by a `:Type` modifier, checked against the parameter's targets. */
export function targetTypeModifier(input: FilterInput): string | undefined {
  const modifier = input.modifier;
  if (modifier === undefined || !/^[A-Z]/.test(modifier)) return undefined;
  if (!allResourceTypes().has(modifier)) throw badRequest(`Unknown resource type '${modifier}' in '${input.name}'`, input.name);
  if (input.def.targets.length > 0 && !input.def.targets.includes(modifier)) {
    throw badRequest(`'${input.def.code}' of ${input.resourceType} cannot refer to ${modifier}`, input.name);
  }
  return modifier;
}

function referenceCondition(input: FilterInput, raw: string, i: string, typeModifier: string | undefined): Sql {
  const value = unescapeValue(raw);
  if (value === '') throw badRequest(`Empty value in '${input.name}'`, input.name);
  if (value.includes('?')) throw badRequest(`Conditional references are not valid search values ('${input.name}')`, input.name);
  if (ID.test(value)) {
    const types = typeModifier ? [typeModifier] : input.def.targets;
    const typeTest = types.length > 0 ? list(types) : undefined;
    return typeTest
      ? sql(`${i}.url IS NULL AND ${i}.target_id = ? AND ${i}.target_type IN ${typeTest.sql}`, [value, ...typeTest.bindings])
      : sql(`${i}.url IS NULL AND ${i}.target_id = ?`, [value]);
  }
  const parsed = parseReference(value, input.ctx.baseUrl);
  if (!parsed) throw badRequest(`Invalid reference '${value}' in '${input.name}'`, input.name);
  if (parsed.url === null) {
    if (typeModifier && parsed.targetType !== typeModifier) throw badRequest(`Reference '${value}' is not a ${typeModifier} ('${input.name}')`, input.name);
    return sql(`${i}.url IS NULL AND ${i}.target_id = ? AND ${i}.target_type = ?`, [parsed.targetId, parsed.targetType]);
  }
  const bar = parsed.url.indexOf('|');
  if (bar >= 0) return sql(`${i}.url = ?`, [parsed.url]); // a versioned canonical
  return sql(`(${i}.url = ? OR ${i}.url LIKE ?)`, [parsed.url, `${parsed.url.replace(/[\\%_]/g, (ch) => `\\${ch}`)}|%`]);
}

export function referenceFilter(input: FilterInput): Sql {
  if (input.modifier === 'identifier') {
    const values = input.values.map((raw) => parseToken(raw, input.name));
    return indexExists('reference', input, (i) => or(values.map((v) => tokenCondition(v, `${i}.ident_system`, `${i}.ident_value`))));
  }
  if (input.modifier === 'above' || input.modifier === 'below') {
    throw badRequest(`Modifier ':${input.modifier}' (hierarchy) is not supported for reference parameter '${input.def.code}'`, input.name);
  }
  const typeModifier = targetTypeModifier(input);
  if (input.modifier !== undefined && typeModifier === undefined) {
    throw badRequest(`Modifier ':${input.modifier}' is not supported for reference parameter '${input.def.code}'`, input.name);
  }
  return indexExists('reference', input, (i) => or(input.values.map((raw) => referenceCondition(input, raw, i, typeModifier))));
}
