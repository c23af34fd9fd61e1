/**
 * Token parameters (search.html#token): `code`, `system|code`, `|code`
 * (no system) and `system|` (any code of the system), matched exactly;
 * `:not` (no value matches, missing included), `:text` (prefix of the
 * normalised display/text). `_id` is a token
 * over `resources.id`. Subsumption (`:above :below :in :not-in`) needs a
 * terminology server, as does `:of-type`; they answer 400.
 */
import { badRequest } from '../kernel/errors';
import { indexExists, unsupportedModifier, type FilterInput } from './filter';
import { splitEscaped, truncate, unescapeValue } from './text';
import { list, or, sql, type Sql } from './sql';
import { textPrefix } from './string';

export interface TokenValue {
  system?: string | null; // undefined: any system; null: no system
  code?: string; // undefined: any code
}

export function parseToken(raw: string, name: string): TokenValue {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  if (parts.length === 1) {
    if (parts[0] === '') throw badRequest(`Empty value in '${name}'`, name);
    return { code: truncate(parts[0]) };
  }
  if (parts.length !== 2 || (parts[0] === '' && parts[1] === '')) throw badRequest(`Invalid token '${raw}' in '${name}': expected [system|]code`, name);
  return { system: parts[0] === '' ? null : truncate(parts[0]), code: parts[1] === '' ? undefined : truncate(parts[1]) };
}

/** Matches a parsed token against `system`/`code` columns of an alias. */
export function tokenCondition(value: TokenValue, systemColumn: string, codeColumn: string): Sql {
  const parts: Sql[] = [];
  if (value.code !== undefined) parts.push(sql(`${codeColumn} = ?`, [value.code]));
  if (value.system === null) parts.push(sql(`${systemColumn} IS NULL`));
  else if (value.system !== undefined) parts.push(sql(`${systemColumn} = ?`, [value.system]));
  return { sql: parts.map((p) => p.sql).join(' AND '), bindings: parts.flatMap((p) => p.bindings) };
}

export function tokenFilter(input: FilterInput): Sql {
  switch (input.modifier) {
    case undefined:
    case 'not': {
      const values = input.values.map((raw) => parseToken(raw, input.name));
      return indexExists('token', input, (i) => or(values.map((v) => tokenCondition(v, `${i}.system`, `${i}.code`))), input.modifier === 'not');
    }
    case 'text': {
      const values = input.values.map(unescapeValue);
      if (values.some((v) => v.trim() === '')) throw badRequest(`Empty value in '${input.name}'`, input.name);
      return indexExists('token', input, (i) => or(values.map((v) => textPrefix(`${i}.text`, v))));
    }
    case 'above':
    case 'below':
    case 'in':
    case 'not-in':
    case 'of-type':
      throw badRequest(`Modifier ':${input.modifier}' on '${input.def.code}' needs terminology support, which Carnet does not offer in search`, input.name);
    default:
      throw unsupportedModifier(input);
  }
}

/** `_id=a,b` and `_id:not=a`, over the `resources.id` column. */
export function idFilter(alias: string, modifier: string | undefined, raw: string[], name: string): Sql {
  const ids = raw.map(unescapeValue);
  if (ids.some((id) => id === '')) throw badRequest(`Empty value in '${name}'`, name);
  const inList = list(ids);
  if (modifier === undefined) return { sql: `${alias}.id IN ${inList.sql}`, bindings: inList.bindings };
  if (modifier === 'not') return { sql: `${alias}.id NOT IN ${inList.sql}`, bindings: inList.bindings };
  throw badRequest(`Modifier ':${modifier}' is not supported for '_id'`, name);
}
