/**
 * String parameters (search.html#string): by default a case- and
 * accent-insensitive "starts with" on any part of the value (each given name,
 * family, address line… is its own index row); `:exact` compares the original
 * text; `:contains` matches anywhere. OR over comma-separated values.
 * Prefix matches are btree ranges on `value_normalized` (COLLATE "C").
 */
import { badRequest } from '../kernel/errors';
import { indexExists, unsupportedModifier, type FilterInput } from './filter';
import { escapeLike, normalizeString, truncate, unescapeValue } from './text';
import { or, sql, type Sql } from './sql';

/** Sorts after every string that starts with the prefix (byte order). */
export const PREFIX_END = '\u{10FFFF}';

export function prefixRange(column: string, prefix: string): Sql {
  return sql(`${column} >= ? AND ${column} < ?`, [prefix, prefix + PREFIX_END]);
}

export function stringFilter(input: FilterInput): Sql {
  const values = input.values.map(unescapeValue);
  if (values.some((value) => value === '')) throw badRequest(`Empty value in '${input.name}'`, input.name);
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

/** Normalised text prefix, shared with token `:text`. */
export function textPrefix(column: string, value: string): Sql {
  return prefixRange(column, truncate(normalizeString(value)));
}
