/**
 * Uri parameters (search.html#uri): exact match by default; `:below` matches
 * every stored uri starting with the value (btree prefix range), `:above`
 * every stored uri the value starts with. No normalisation: uris are
 * compared as written.
 */
import { badRequest } from '../kernel/errors';
import { indexExists, unsupportedModifier, type FilterInput } from './filter';
import { truncate, unescapeValue } from './text';
import { or, sql, type Sql } from './sql';
import { prefixRange } from './string';

export function uriFilter(input: FilterInput): Sql {
  const values = input.values.map((raw) => truncate(unescapeValue(raw)));
  if (values.some((v) => v === '')) throw badRequest(`Empty value in '${input.name}'`, input.name);
  const condition = (i: string): Sql => {
    switch (input.modifier) {
      case undefined:
        return or(values.map((v) => sql(`${i}.uri = ?`, [v])));
      case 'below':
        return or(values.map((v) => prefixRange(`${i}.uri`, v)));
      case 'above':
        return or(values.map((v) => sql(`starts_with(?::text, ${i}.uri)`, [v])));
      default:
        throw unsupportedModifier(input);
    }
  };
  return indexExists('uri', input, condition);
}
