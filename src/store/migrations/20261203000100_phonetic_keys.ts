/**
 * `phonetic` becomes phonetic (src/search/phonetic.ts): its search_string rows
 * held the folded text of each name part (searched as a prefix); they now hold
 * the French Phonex key of each word. This rewrites the rows that exist, from
 * their `value_exact` (the name part as written), so no resource needs a new
 * version; rows written from now on are keyed by the indexer. Not reversible
 * (down recomputes nothing: a reindex would).
 */
import type { Knex } from 'knex';
import { phoneticKeys } from '../../search/phonetic';

interface Row {
  rid: string;
  resource_type: string;
  patient_id: string | null;
  value_exact: string;
}

export async function up(knex: Knex): Promise<void> {
  const { rows } = await knex.raw<{ rows: Row[] }>(`DELETE FROM search_string WHERE param = 'phonetic' RETURNING rid, resource_type, patient_id, value_exact`);
  const seen = new Set<string>();
  const fresh = rows.flatMap((row) =>
    phoneticKeys(row.value_exact)
      .filter((key) => !seen.has(`${row.rid}\u0001${key}\u0001${row.value_exact}`) && seen.add(`${row.rid}\u0001${key}\u0001${row.value_exact}`))
      .map((key) => ({ ...row, param: 'phonetic', value_normalized: key })),
  );
  for (let i = 0; i < fresh.length; i += 1000) await knex('search_string').insert(fresh.slice(i, i + 1000));
}

export async function down(): Promise<void> {
  // the prefix rows are not restored: the indexer of that version rebuilt them on the next write
}
