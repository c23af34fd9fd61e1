/**
 * A SQL predicate over a resource row, built by the access layer and applied
 * by the store inside every query (never as a filter after it).
 * `sql` refers to the row through the alias given to `render`.
 */
import type { SqlBinding } from './sql';

export type { SqlBinding } from './sql';

export interface RowPredicate {
  /** Renders the predicate for a row alias, e.g. `r`; bindings are positional `?`. */
  render(alias: string): { sql: string; bindings: SqlBinding[] };
}

export const allowAll: RowPredicate = { render: () => ({ sql: 'TRUE', bindings: [] }) };
export const denyAll: RowPredicate = { render: () => ({ sql: 'FALSE', bindings: [] }) };

export function sqlPredicate(build: (alias: string) => { sql: string; bindings: SqlBinding[] }): RowPredicate {
  return { render: build };
}
