/**
 * The shape of the search index tables (see the migration
 * 20261126000200_search_indexes and README.md): one row type per table, as the
 * indexer writes them and the compiler reads them. Owns table and column
 * names; never holds SQL that filters resources.
 */

export interface StringRow {
  param: string;
  value_normalized: string;
  value_exact: string;
}

export interface TokenRow {
  param: string;
  system: string | null;
  code: string | null;
  text: string | null;
}

export interface ReferenceRow {
  param: string;
  target_type: string | null;
  target_id: string | null;
  url: string | null;
  ident_system: string | null;
  ident_value: string | null;
}

export interface DateRow {
  param: string;
  lo: string;
  hi: string;
}

export interface NumberRow {
  param: string;
  lo: string;
  hi: string;
}

export interface QuantityRow {
  param: string;
  system: string | null;
  code: string | null;
  unit: string | null;
  lo: string;
  hi: string;
}

export interface UriRow {
  param: string;
  uri: string;
}

/** Every index row of one resource, by table. */
export interface IndexRows {
  string: StringRow[];
  token: TokenRow[];
  reference: ReferenceRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  uri: UriRow[];
}

export type IndexTable = keyof IndexRows;

export const INDEX_TABLES: Record<IndexTable, { name: string; columns: Record<string, string> }> = {
  string: { name: 'search_string', columns: { value_normalized: 'text', value_exact: 'text' } },
  token: { name: 'search_token', columns: { system: 'text', code: 'text', text: 'text' } },
  reference: { name: 'search_reference', columns: { target_type: 'text', target_id: 'text', url: 'text', ident_system: 'text', ident_value: 'text' } },
  date: { name: 'search_date', columns: { lo: 'timestamptz', hi: 'timestamptz' } },
  number: { name: 'search_number', columns: { lo: 'numeric', hi: 'numeric' } },
  quantity: { name: 'search_quantity', columns: { system: 'text', code: 'text', unit: 'text', lo: 'numeric', hi: 'numeric' } },
  uri: { name: 'search_uri', columns: { uri: 'text' } },
};

/** The index table of each search parameter type (composite and special have none). */
export const TABLE_OF_TYPE: Partial<Record<string, IndexTable>> = {
  string: 'string',
  token: 'token',
  reference: 'reference',
  date: 'date',
  number: 'number',
  quantity: 'quantity',
  uri: 'uri',
};

export function emptyRows(): IndexRows {
  return { string: [], token: [], reference: [], date: [], number: [], quantity: [], uri: [] };
}
