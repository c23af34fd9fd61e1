/**
 * Date parameters (search.html#date): the stored value and the search value
 * are both ranges (date-range.ts), compared per prefix as the spec defines:
 * eq (search range contains the value), ne, gt/lt (the value reaches beyond
 * the search range), ge/le (gt/lt or eq), sa/eb (starts after / ends before)
 * and ap (overlaps the search range widened by 10% of its distance from now).
 * `_lastUpdated` applies the same rules to `resources.last_updated`.
 */
import { badRequest } from '../kernel/errors';
import { indexExists, type CompileContext, type FilterInput } from './filter';
import { boundMillis, dateRange, millisBound, type DateRange } from './date-range';
import { unescapeValue } from './text';
import { or, sql, type Sql } from './sql';

export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

/** Splits `ge2020-01` into `ge` and `2020-01`; a leading pair of letters must be a known prefix. */
export function splitPrefix(raw: string, name: string): { prefix: Prefix; rest: string } {
  const match = /^([a-z]{2})(.*)$/.exec(raw);
  if (!match) return { prefix: 'eq', rest: raw };
  if (!(PREFIXES as readonly string[]).includes(match[1])) throw badRequest(`Unknown prefix '${match[1]}' in '${name}'`, name);
  return { prefix: match[1] as Prefix, rest: match[2] };
}

/** The search value of a date parameter, or a 400 naming it. */
export function parseDate(raw: string, name: string): { prefix: Prefix; range: DateRange } {
  const { prefix, rest } = splitPrefix(unescapeValue(raw), name);
  const range = dateRange(rest);
  if (!range) throw badRequest(`Invalid date '${rest}' in '${name}'`, name);
  return { prefix, range };
}

/** The condition for one prefix, over columns (or expressions) holding the value's lo and hi. */
export function dateCondition(prefix: Prefix, range: DateRange, lo: string, hi: string, now: Date): Sql {
  const within = sql(`${lo} >= ?::timestamptz AND ${hi} <= ?::timestamptz`, [range.lo, range.hi]);
  switch (prefix) {
    case 'eq':
      return within;
    case 'ne':
      return sql(`NOT (${within.sql})`, within.bindings);
    case 'gt':
      return sql(`${hi} > ?::timestamptz`, [range.hi]);
    case 'lt':
      return sql(`${lo} < ?::timestamptz`, [range.lo]);
    case 'ge':
      return or([sql(`${hi} > ?::timestamptz`, [range.hi]), within]);
    case 'le':
      return or([sql(`${lo} < ?::timestamptz`, [range.lo]), within]);
    case 'sa':
      return sql(`${lo} > ?::timestamptz`, [range.hi]);
    case 'eb':
      return sql(`${hi} < ?::timestamptz`, [range.lo]);
    case 'ap': {
      const loMs = boundMillis(range.lo);
      const hiMs = boundMillis(range.hi);
      const slack = 0.1 * Math.abs(now.getTime() - (loMs + hiMs) / 2);
      return sql(`${lo} <= ?::timestamptz AND ${hi} >= ?::timestamptz`, [millisBound(hiMs + slack), millisBound(loMs - slack)]);
    }
  }
}

export function dateFilter(input: FilterInput): Sql {
  if (input.modifier !== undefined) throw badRequest(`Modifier ':${input.modifier}' is not supported for date parameter '${input.def.code}'`, input.name);
  const values = input.values.map((raw) => parseDate(raw, input.name));
  return indexExists('date', input, (i) => or(values.map((v) => dateCondition(v.prefix, v.range, `${i}.lo`, `${i}.hi`, input.ctx.now))));
}

export function lastUpdatedFilter(ctx: CompileContext, alias: string, modifier: string | undefined, raw: string[], name: string): Sql {
  if (modifier !== undefined) throw badRequest(`Modifier ':${modifier}' is not supported for '_lastUpdated'`, name);
  const values = raw.map((value) => parseDate(value, name));
  const column = `${alias}.last_updated`;
  return or(values.map((v) => dateCondition(v.prefix, v.range, column, column, ctx.now)));
}
