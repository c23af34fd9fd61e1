/**
 * Resolving a patient by INS-NIR (CONTRACT §3 "Patient identity (INS)"): a
 * system client or a practitioner with an active role, within Patient read
 * or search scopes, may find the Patient holding a NIR that no rule lets it
 * see otherwise — and is answered that Patient's identity only (id,
 * identifier, name, birthDate, gender, `meta.tag` SUBSETTED), reported to the
 * audit by the interaction as a disclosure of X. A practitioner X blocks
 * resolves nothing (403, the refusal audited about X: policy.ts). Patients and legal
 * representatives resolve as the access rules let them read (themselves,
 * their minor). Never answers more of X than the identity subset.
 */
import type { Coding, Patient, Resource } from 'fhir/r4';
import type { Caller } from '../kernel/caller';
import type { StoredResource } from '../kernel/stored';
import type { Executor } from '../store/executor';
import { holderOf } from '../store/identities';
import { readsType } from '../identity/scopes';

/** v3-ObservationValue SUBSETTED: the resource served is a part of the stored one. */
export const SUBSETTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

/** Who may resolve a patient by INS-NIR: a system client, or a practitioner with an active role; within Patient read or search scopes. */
export function resolvesIdentities(caller: Caller): boolean {
  if (!readsType(caller, 'Patient')) return false;
  return caller.kind === 'system' || (caller.kind === 'practitioner' && caller.roles.length > 0);
}

/** The identity subset of a Patient: id, identifier, name, birthDate, gender; tagged SUBSETTED. */
export function identityOf(patient: Resource): Patient {
  const { id, identifier, name, birthDate, gender } = patient as Patient;
  return {
    resourceType: 'Patient',
    id,
    meta: { tag: [SUBSETTED] },
    ...(identifier ? { identifier } : {}),
    ...(name ? { name } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(gender ? { gender } : {}),
  };
}

/**
 * The Patient holding `nir`, as its identity subset, when `caller` may
 * resolve it; undefined when no Patient holds it or the caller may not
 * resolve (its answer is then the one of the access rules alone). Whether
 * the patient blocks the caller is the policy's check (CallerAccess).
 */
export async function resolveIdentity(caller: Caller, nir: string, sql: Executor): Promise<StoredResource | undefined> {
  if (!resolvesIdentities(caller)) return undefined;
  const holder = await holderOf(sql, nir);
  return holder?.content ? { ...holder, content: identityOf(holder.content) } : undefined;
}

/** A resource served as an identity subset (it carries the SUBSETTED tag): answered without its version's headers. */
export function isIdentitySubset(resource: Resource | null): boolean {
  return resource?.meta?.tag?.some((tag) => tag.system === SUBSETTED.system && tag.code === SUBSETTED.code) ?? false;
}
