/**
 * String parameters (search.html#string): by default a case- and
 * accent-insensitive "starts with" on any part of the value (each given name,
 * family, address line… is its own index row); `:exact` compares the original
 * text; `:contains` matches anywhere. OR over comma-separated values.
 * `phonetic` compares French Phonex keys instead (phonetic.ts).
 * Prefix matches are btree ranges on `value_normalized` (COLLATE "C").
 */
import { badRequest } from '../kernel/errors';
import { indexExists, unsupportedModifier, type FilterInput } from './filter';
import { escapeLike, normalizeString, truncate, unescapeValue } from './text';
import { and, or, sql, type Sql } from './sql';
import { isPhonetic, phoneticKeys } from './phonetic';

/** Sorts after every string that starts with the prefix (byte order). */
export const PREFIX_END = '\u{10FFFF}';

export function prefixRange(column: string, prefix: string): Sql {
  return sql(`${column} >= ? AND ${column} < ?`, [prefix, prefix + PREFIX_END]);
}

export function stringFilter(input: FilterInput): Sql {
  const values = input.values.map(unescapeValue);
  if (values.some((value) => value === '')) throw badRequest(`Empty value in '${input.name}'`, input.name);
  if (isPhonetic(input.def) && input.modifier === undefined) return phoneticFilter(input, values);
  const condition = (i: string): Sql => {
    switch (input.modifier) {
      case undefined:
        return or(values.map((value) => prefixRange(`${i}.value_normalized`, normalizeString(value))));
      case 'exact':
        return or(values.map((value) => sql(`${i}.value_normalized = ? AND ${i}.value_exact = ?`, [normalizeString(value), value])));
      case 'contains':
        return or(values.map((value) => sql(`${i}.value_normalized LIKE ?`, [`%${escapeLike(normalizeString(value))}%`])));
      default:
        throw unsupportedModifier(input);
    }
  };
  return indexExists('string', input, condition);
}

/**
 * `phonetic`: every word of a value sounds like a word of one indexed name part
 * (rows keyed by phonetic.ts); OR over comma-separated values.
 */
function phoneticFilter(input: FilterInput, values: string[]): Sql {
  return or(
    values.map((value) => {
      const keys = phoneticKeys(value);
      if (keys.length === 0) throw badRequest(`'${input.name}' needs a name with letters`, input.name);
      return and(keys.map((key) => indexExists('string', input, (i) => sql(`${i}.value_normalized = ?`, [key]))));
    }),
  );
}

/** Normalised text prefix, shared with token `:text`. */
export function textPrefix(column: string, value: string): Sql {
  return prefixRange(column, truncate(normalizeString(value)));
}
