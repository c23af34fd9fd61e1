/**
 * The CallerLookup on PostgreSQL: reads the RelatedPerson, the Patient it
 * represents and the PractitionerRoles caller resolution needs straight from the `resources`
 * table (current, non-deleted versions).
 *
 * These reads run before there is a caller, so they take no access predicate:
 * they serve resolveCaller only and must never be used to answer a client.
 * The role lookup is served by the expression index of migration
 * 20261126000100_identity_indexes. Resolution happens once per HTTP request;
 * the server caches the roles across requests with RoleCache (role-cache.ts),
 * which drops them whenever a PractitionerRole is written; the role read is a
 * prepared statement (store/statements.ts).
 */
import type { Patient, PractitionerRole, RelatedPerson } from 'fhir/r4';
import type { Executor } from '../store/executor';
import type { CallerLookup } from './resolve';

export function createCallerLookup(sql: Executor): CallerLookup {
  return {
    async relatedPerson(id: string): Promise<RelatedPerson | undefined> {
      const { rows } = await sql.query<{ content: RelatedPerson | null }>(`SELECT content FROM resources WHERE resource_type = 'RelatedPerson' AND id = ? AND NOT deleted`, [id]);
      return rows[0]?.content ?? undefined;
    },

    async patient(id: string): Promise<Patient | undefined> {
      const { rows } = await sql.query<{ content: Patient | null }>(`SELECT content FROM resources WHERE resource_type = 'Patient' AND id = ? AND NOT deleted`, [id]);
      return rows[0]?.content ?? undefined;
    },

    async activeRoles(practitionerId: string): Promise<PractitionerRole[]> {
      // The literal type and `NOT deleted` repeat the partial index predicate, so any plan can use it.
      const { rows } = await sql.query<{ content: PractitionerRole | null }>(
        `SELECT content FROM resources WHERE resource_type = 'PractitionerRole' AND NOT deleted
         AND content->'practitioner'->>'reference' = ? AND (content->>'active') IS DISTINCT FROM 'false' ORDER BY id`,
        [`Practitioner/${practitionerId}`],
      );
      return rows.flatMap((row) => (row.content ? [row.content] : []));
    },
  };
}
