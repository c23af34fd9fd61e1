/**
 * SQL fragments with positional `?` bindings (knex raw), composed without
 * string-pasting values: every value a client sends travels as a binding.
 * Owns composition and the one place a fragment is handed to the executor.
 */
import type { Executor, Planning, SqlBinding } from '../store/executor';

export interface Sql {
  sql: string;
  bindings: unknown[];
}

export const TRUE: Sql = { sql: 'TRUE', bindings: [] };
export const FALSE: Sql = { sql: 'FALSE', bindings: [] };

export function sql(text: string, bindings: unknown[] = []): Sql {
  return { sql: text, bindings };
}

function join(parts: Sql[], operator: string, empty: Sql): Sql {
  if (parts.length === 0) return empty;
  if (parts.length === 1) return parts[0];
  return { sql: parts.map((part) => `(${part.sql})`).join(` ${operator} `), bindings: parts.flatMap((part) => part.bindings) };
}

export const and = (parts: Sql[]): Sql => join(parts, 'AND', TRUE);
export const or = (parts: Sql[]): Sql => join(parts, 'OR', FALSE);
export const not = (part: Sql): Sql => ({ sql: `NOT (${part.sql})`, bindings: part.bindings });

/** `text` with each `{}` replaced by the next fragment, bindings kept in order. */
export function compose(text: string, ...parts: Sql[]): Sql {
  const pieces = text.split('{}');
  if (pieces.length !== parts.length + 1) throw new Error(`compose: ${pieces.length - 1} holes for ${parts.length} fragments`);
  let out = pieces[0];
  const bindings: unknown[] = [];
  parts.forEach((part, i) => {
    out += part.sql + pieces[i + 1];
    bindings.push(...part.bindings);
  });
  return { sql: out, bindings };
}

/** `(?, ?, ?)` for a non-empty list of values. */
export function list(values: unknown[]): Sql {
  return { sql: `(${values.map(() => '?').join(', ')})`, bindings: values };
}

/**
 * Runs a fragment through the session's executor (store/executor.ts):
 * planned at every run by default (search statements: their best plan
 * depends on the values), or named once its shape repeats.
 */
export function run<T>(db: Executor, fragment: Sql, planning: Planning = 'each'): Promise<T> {
  return db.query(fragment.sql, fragment.bindings as SqlBinding[], planning) as unknown as Promise<T>;
}
