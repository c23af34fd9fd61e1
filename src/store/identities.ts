/**
 * Patient identity by INS-NIR (CONTRACT §3 "Patient identity (INS)"): the
 * `patient_identities` table (migration …_patient_identities) holds one row
 * per NIR of a current Patient. The identity indexer keeps it inside the
 * write's transaction, and its primary key makes the NIR unique: a second
 * Patient claiming a held NIR — a create, an update, a conditional create,
 * a transaction entry, a concurrent writer (which waits for the first to
 * commit) — is a 409, never a check-then-insert. A deleted Patient releases
 * its NIRs. `holderOf` finds the Patient holding a NIR for the resolution
 * rules (access/patient-identity.ts); it answers no one by itself.
 */
import type { Identifier, Patient, Resource } from 'fhir/r4';
import { FhirError } from '../kernel/errors';
import type { ResourceIndexer, StoredResource } from '../kernel/stored';
import type { Executor } from './executor';
import { fromRow, RESOURCE_COLUMNS } from './resources';

/** The INS-NIR identifier system (matricule INS). */
export const INS_NIR = 'urn:oid:1.2.250.1.213.1.4.8';

/** The NIR values of a Patient, in `identifier` order, without duplicates or empty values. */
export function nirsOf(resource: Resource | null): string[] {
  const values = identifiersOf(resource).filter((identifier) => identifier?.system === INS_NIR && typeof identifier.value === 'string' && identifier.value !== '');
  return [...new Set(values.map((identifier) => identifier.value as string))];
}

function identifiersOf(resource: Resource | null): Identifier[] {
  const identifiers = resource?.resourceType === 'Patient' ? (resource as Patient).identifier : undefined;
  return Array.isArray(identifiers) ? identifiers : [];
}

/**
 * Keeps `patient_identities` for every Patient write: the NIRs the version no
 * longer holds are released, the ones it holds claimed; a NIR held by another
 * Patient is not claimed (ON CONFLICT … WHERE false), so the write fails with 409.
 */
export const identityIndexer: ResourceIndexer = {
  newRowCtes: (row) => (row.resourceType === 'Patient' ? undefined : []),
  async index(sql, row) {
    if (row.resourceType !== 'Patient') return;
    const nirs = row.deleted ? [] : nirsOf(row.content);
    if (nirs.length === 0 && row.versionId === 1) return; // a new Patient without NIR holds nothing to release
    const { rows } = await sql.query<{ nir: string }>(
      `WITH released AS (DELETE FROM patient_identities WHERE patient_id = ? AND NOT (nir = ANY(?::text[])))
       INSERT INTO patient_identities (nir, patient_id) SELECT unnest(?::text[]), ?
       ON CONFLICT (nir) DO UPDATE SET patient_id = EXCLUDED.patient_id WHERE patient_identities.patient_id = EXCLUDED.patient_id
       RETURNING nir`,
      [row.id, nirs, nirs, row.id],
    );
    const claimed = new Set(rows.map((claim) => claim.nir));
    const taken = nirs.findIndex((nir) => !claimed.has(nir));
    if (taken >= 0) throw nirTaken(row.content, nirs[taken]);
  },
};

function nirTaken(resource: Resource | null, nir: string): FhirError {
  const index = identifiersOf(resource).findIndex((identifier) => identifier?.system === INS_NIR && identifier.value === nir);
  return new FhirError(409, 'duplicate', `another Patient already holds this INS-NIR (${INS_NIR}): one Patient per NIR`, `Patient.identifier[${index}].value`);
}

/** The current Patient holding `nir`, read for no caller: the resolution rules decide what of it is answered. */
export async function holderOf(sql: Executor, nir: string): Promise<StoredResource | undefined> {
  const columns = RESOURCE_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ');
  const { rows } = await sql.query<Parameters<typeof fromRow>[0]>(
    `SELECT ${columns} FROM patient_identities i JOIN resources r ON r.resource_type = 'Patient' AND r.id = i.patient_id WHERE i.nir = ? AND NOT r.deleted`,
    [nir],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}
