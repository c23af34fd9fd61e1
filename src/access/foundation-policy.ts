/**
 * DEPRECATED — replaced by CarnetAccessPolicy (policy.ts); kept only until
 * src/server.ts is wired to the new policy, then to be deleted.
 * The foundation access policy (CONTRACT §3): a patient or legal
 * representative reaches only the patient's compartment and shared data; a
 * system client reads shared data and what it created, and writes within its
 * scopes; a practitioner reads shared data only (the grid and consents of §4
 * replace this in their own issue). Never returns a predicate wider than these rules.
 */
import type { Resource } from 'fhir/r4';
import { forbidden, notAllowed } from '../fhir/errors';
import type { AccessPolicy, WriteKind } from '../fhir/context';
import type { PatientCompartment } from '../fhir/compartment';
import { submitterOf, type Caller, type Interaction } from '../identity/caller';
import { sqlPredicate, type RowPredicate } from '../store/predicate';
import type { StoredResource } from '../store/resources';
import { requireScope } from './scope-check';

/** Types no client writes through the API. */
const SERVER_WRITTEN = new Set(['AuditEvent']);

export class FoundationPolicy implements AccessPolicy {
  private readonly compartmentTypes: string[];

  constructor(private readonly compartment: PatientCompartment) {
    this.compartmentTypes = compartment.types();
  }

  checkScope(caller: Caller, resourceType: string, interaction: Interaction): void {
    requireScope(caller, resourceType, interaction);
    if (caller.kind === 'practitioner' && this.compartment.has(resourceType)) {
      throw forbidden(`practitioners have no access to patient data (${resourceType}) yet`);
    }
  }

  async checkPatientSpace(caller: Caller, patientId: string): Promise<void> {
    if ((caller.kind === 'patient' || caller.kind === 'related-person') && caller.patientId !== patientId) {
      throw forbidden('a patient reaches only their own health space');
    }
    if (caller.kind === 'practitioner') throw forbidden('practitioners have no access to patient data yet');
  }

  readable(caller: Caller, resourceType?: string): RowPredicate {
    const shared = this.sharedPredicate(resourceType);
    switch (caller.kind) {
      case 'patient':
      case 'related-person':
        return sqlPredicate((r) => ({
          sql: `(${r}.patient_id = ? OR ${r}.created_by = ? OR ${shared(r)})`,
          bindings: [caller.patientId, submitterOf(caller)],
        }));
      case 'system':
        return sqlPredicate((r) => ({ sql: `(${r}.created_by = ? OR ${shared(r)})`, bindings: [submitterOf(caller)] }));
      case 'practitioner':
        return sqlPredicate((r) => ({ sql: shared(r), bindings: [] }));
    }
  }

  /** Shared data: rows of types outside the Patient compartment. */
  private sharedPredicate(resourceType?: string): (alias: string) => string {
    if (resourceType !== undefined) {
      const isShared = !this.compartment.has(resourceType);
      return () => (isShared ? 'TRUE' : 'FALSE');
    }
    const list = this.compartmentTypes.map((type) => `'${type}'`).join(', ');
    return (r) => `${r}.resource_type NOT IN (${list})`;
  }

  async checkWrite(caller: Caller, kind: WriteKind, resource: Resource | null, current: StoredResource | undefined, patientIds: string[]): Promise<void> {
    const resourceType = resource?.resourceType ?? current?.resourceType ?? '';
    if (SERVER_WRITTEN.has(resourceType)) throw notAllowed(`${resourceType} is written by the server only`);
    const inCompartment = this.compartment.has(resourceType);
    switch (caller.kind) {
      case 'patient':
      case 'related-person': {
        const own = (ids: string[]) => ids.length > 0 && ids.every((id) => id === caller.patientId);
        if (!inCompartment) throw forbidden(`${resourceType} is shared data, written by the directory feeds`);
        if (current && current.patientId !== caller.patientId) throw forbidden(`${resourceType}/${current.id} belongs to another patient`);
        if (resource && !own(patientIds)) throw forbidden(`a patient writes only resources of their own compartment`);
        return;
      }
      case 'practitioner':
        throw forbidden(`practitioners cannot ${kind} ${resourceType} yet`);
      case 'system': {
        if (!current || current.deleted) return;
        if (current.createdBy === submitterOf(caller)) return;
        if (caller.operator && !inCompartment) return;
        throw forbidden(`${resourceType}/${current.id} was created by another client`);
      }
    }
  }
}
