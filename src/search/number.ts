/**
 * Number and quantity parameters (search.html#number, #quantity). A search
 * value stands for its precision: `100` is [99.5, 100.5), `100.00` is
 * [99.995, 100.005); `eq`/`ne` use that range, the other prefixes compare
 * with the value itself, `ap` allows ±10%. Stored values are [lo, hi] ranges
 * (lo = hi for a single value; Range elements keep both ends). Quantities add
 * `|system|code` (`||code` matches code or unit). No unit conversion (UCUM).
 * Arithmetic on bounds happens in PostgreSQL numeric, never in floating point.
 */
import { badRequest } from '../kernel/errors';
import { indexExists, type FilterInput } from './filter';
import { splitPrefix, type Prefix } from './date';
import { splitEscaped, truncate, unescapeValue } from './text';
import { and, or, sql, type Sql } from './sql';

const NUMBER = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

interface NumberValue {
  prefix: Prefix;
  value: string;
  half: string; // half of the last significant unit
}

function parseNumber(raw: string, name: string): NumberValue {
  const { prefix, rest } = splitPrefix(raw, name);
  const match = NUMBER.exec(rest);
  const exponent = Number(match?.[3] ?? 0);
  if (!match || rest.length > 100 || Math.abs(exponent) > 300) throw badRequest(`Invalid number '${rest.slice(0, 100)}' in '${name}'`, name);
  const decimals = match[2]?.length ?? 0;
  return { prefix, value: rest, half: `5e${exponent - decimals - 1}` };
}

function numberCondition(n: NumberValue, lo: string, hi: string): Sql {
  const q = '?::numeric';
  switch (n.prefix) {
    case 'eq':
      return sql(`${lo} >= ${q} - ${q} AND ${hi} < ${q} + ${q}`, [n.value, n.half, n.value, n.half]);
    case 'ne':
      return sql(`NOT (${lo} >= ${q} - ${q} AND ${hi} < ${q} + ${q})`, [n.value, n.half, n.value, n.half]);
    case 'gt':
      return sql(`${hi} > ${q}`, [n.value]);
    case 'lt':
      return sql(`${lo} < ${q}`, [n.value]);
    case 'ge':
      return sql(`${hi} >= ${q}`, [n.value]);
    case 'le':
      return sql(`${lo} <= ${q}`, [n.value]);
    case 'sa':
      return sql(`${lo} > ${q}`, [n.value]);
    case 'eb':
      return sql(`${hi} < ${q}`, [n.value]);
    case 'ap':
      return sql(`${lo} <= ${q} + abs(${q}) * 0.1 AND ${hi} >= ${q} - abs(${q}) * 0.1`, [n.value, n.value, n.value, n.value]);
  }
}

function noModifier(input: FilterInput): void {
  if (input.modifier !== undefined) throw badRequest(`Modifier ':${input.modifier}' is not supported for ${input.def.type} parameter '${input.def.code}'`, input.name);
}

export function numberFilter(input: FilterInput): Sql {
  noModifier(input);
  const values = input.values.map((raw) => parseNumber(unescapeValue(raw), input.name));
  return indexExists('number', input, (i) => or(values.map((v) => numberCondition(v, `${i}.lo`, `${i}.hi`))));
}

interface QuantityValue {
  number: NumberValue;
  system?: string;
  code?: string;
}

function parseQuantity(raw: string, name: string): QuantityValue {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  if (parts.length !== 1 && parts.length !== 3) throw badRequest(`Invalid quantity '${raw}' in '${name}': expected [prefix]number[|system|code]`, name);
  const number = parseNumber(parts[0], name);
  if (parts.length === 1) return { number };
  return { number, system: parts[1] === '' ? undefined : truncate(parts[1]), code: parts[2] === '' ? undefined : truncate(parts[2]) };
}

function unitCondition(q: QuantityValue, i: string): Sql[] {
  if (q.system !== undefined && q.code !== undefined) return [sql(`${i}.system = ? AND ${i}.code = ?`, [q.system, q.code])];
  if (q.system !== undefined) return [sql(`${i}.system = ?`, [q.system])];
  if (q.code !== undefined) return [sql(`(${i}.code = ? OR ${i}.unit = ?)`, [q.code, q.code])];
  return [];
}

export function quantityFilter(input: FilterInput): Sql {
  noModifier(input);
  const values = input.values.map((raw) => parseQuantity(raw, input.name));
  return indexExists('quantity', input, (i) => or(values.map((v) => and([numberCondition(v.number, `${i}.lo`, `${i}.hi`), ...unitCondition(v, i)]))));
}
