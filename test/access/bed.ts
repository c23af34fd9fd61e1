/**
 * A test bed for the access rules without HTTP: a fresh database, the store
 * with the search and access indexers, the Carnet policy, and helpers to
 * write resources as a given submitter and to build callers.
 */
import type { Resource } from 'fhir/r4';
import { testDatabase, type TestDatabase } from '../support/database';
import { ResourceStore, type StoredResource } from '../../src/store/resources';
import { createSearchEngine, type SearchComponents } from '../../src/search';
import { PatientCompartment } from '../../src/kernel/compartment';
import { accessIndexer, composeIndexers } from '../../src/access/indexer';
import { CarnetAccessPolicy } from '../../src/access/policy';
import { createValidator } from '../../src/validation';
import type { Caller, PractitionerCaller, PractitionerRoleGrant } from '../../src/kernel/caller';
import { parseScopes } from '../../src/identity/scopes';

export interface AccessBed {
  t: TestDatabase;
  store: ResourceStore;
  engine: SearchComponents;
  compartment: PatientCompartment;
  policy: CarnetAccessPolicy;
  /** Creates or updates (next version) a resource as `createdBy`. */
  put(resource: Resource, createdBy: string): Promise<StoredResource>;
  remove(type: string, id: string): Promise<StoredResource>;
  close(): Promise<void>;
}

let sharedEngine: SearchComponents | undefined;

export async function accessBed(): Promise<AccessBed> {
  return accessBedOn(await testDatabase());
}

/** The bed on a given (migrated) database: scripts/access-property.ts brings its own. */
export async function accessBedOn(t: TestDatabase): Promise<AccessBed> {
  sharedEngine ??= createSearchEngine();
  const engine = sharedEngine;
  const compartment = new PatientCompartment(engine.registry);
  const store = new ResourceStore(t.db, composeIndexers(engine.indexer, accessIndexer));
  const validator = await createValidator({ lazy: true });
  const policy = new CarnetAccessPolicy({ db: t.db, compartment, validator });
  const put = (resource: Resource, createdBy: string) =>
    store.transaction(async (trx) => {
      const patientId = compartment.patientsOf(resource)[0] ?? null;
      const current = await store.lock(trx, resource.resourceType, resource.id as string);
      if (current) return store.writeNext(trx, current, { resource, patientId, createdBy, method: 'PUT' });
      const inserted = await store.insert(trx, { resource, patientId, createdBy, method: 'POST' });
      if (!inserted) throw new Error('insert failed');
      return inserted;
    });
  const remove = (type: string, id: string) =>
    store.transaction(async (trx) => {
      const current = await store.lock(trx, type, id);
      if (!current) throw new Error(`${type}/${id} missing`);
      return store.writeNext(trx, current, { resource: null, patientId: current.patientId, createdBy: current.createdBy, method: 'DELETE' });
    });
  return { t, store, engine, compartment, policy, put, remove, close: () => t.drop() };
}

export const TREG15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';

export function practitioner(id: string, professions: string[], options: Partial<PractitionerCaller> & { organization?: string; samu?: boolean } = {}): PractitionerCaller {
  const roles: PractitionerRoleGrant[] = professions.map((profession, i) => ({
    roleId: `${id}-role${i}`,
    professions: [profession],
    specialties: [],
    samuRegulator: options.samu ?? false,
    ...(options.organization ? { organization: `Organization/${options.organization}` } : {}),
  }));
  return { kind: 'practitioner', sub: id, scopes: parseScopes('user/*.*'), practitionerId: id, roles: options.roles ?? roles, purposeOfUse: options.purposeOfUse, breakGlassReason: options.breakGlassReason };
}

export function patient(id: string): Caller {
  return { kind: 'patient', sub: id, scopes: parseScopes('patient/*.*'), patientId: id };
}

export function representative(relatedPersonId: string, patientId: string): Caller {
  return { kind: 'related-person', sub: relatedPersonId, scopes: parseScopes('patient/*.*'), relatedPersonId, patientId };
}

export function system(clientId: string, scope = 'system/*.*'): Caller {
  const scopes = parseScopes(scope);
  return { kind: 'system', sub: clientId, scopes, clientId, operator: scope.includes('system/*.*') };
}

/** The PractitionerRole resource matching a practitioner() caller's grants. */
export function roleResources(caller: PractitionerCaller): Resource[] {
  return caller.roles.map((role) => ({
    resourceType: 'PractitionerRole',
    id: role.roleId,
    practitioner: { reference: `Practitioner/${caller.practitionerId}` },
    ...(role.organization ? { organization: { reference: role.organization } } : {}),
    code: [
      ...role.professions.map((code) => ({ coding: [{ system: TREG15, code }] })),
      ...(role.samuRegulator ? [{ coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/role', code: 'samu-regulator' }] }] : []),
    ],
  }) as Resource);
}

/** `Type/id` of every current row the caller's predicate lets through (optionally of one type). */
export async function visibleRows(bed: AccessBed, caller: Caller, resourceType?: string): Promise<string[]> {
  const predicate = bed.policy.readable(caller, resourceType).render('r');
  const result = await bed.t.db.raw<{ rows: { key: string }[] }>(
    `SELECT r.resource_type || '/' || r.id AS key FROM resources r WHERE ${resourceType ? 'r.resource_type = ? AND ' : ''}(${predicate.sql}) ORDER BY 1`,
    [...(resourceType ? [resourceType] : []), ...predicate.bindings],
  );
  return result.rows.map((row) => row.key);
}
