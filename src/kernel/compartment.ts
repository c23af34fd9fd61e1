/**
 * The Patient compartment: which patient a resource belongs to, from the
 * R4 CompartmentDefinition and the search parameters it names. The answer is
 * stored as `patient_id` on every row so access rules and sharding key on it.
 * References are read with the one parser (reference.ts): a Patient on another
 * base is not one of ours.
 */
import type { Resource } from 'fhir/r4';
import { patientCompartment } from './definitions';
import { localReference } from './reference';

/** The search parameters the compartment names, as the registry gives them (search/parameters.ts). */
export interface CompartmentParameters {
  get(resourceType: string, code: string): { evaluate(resource: Resource): unknown[] } | undefined;
}

export class PatientCompartment {
  private readonly params = new Map<string, string[]>();

  /** `baseUrl`: the server's FHIR base, so a Patient referenced absolutely on it is local. */
  constructor(
    private readonly registry: CompartmentParameters,
    private readonly baseUrl?: string,
  ) {
    for (const entry of patientCompartment().resource ?? []) {
      if (entry.param && entry.param.length > 0) this.params.set(entry.code, entry.param);
    }
  }

  /** True when resources of this type can belong to a patient (the health data of §4). */
  has(resourceType: string): boolean {
    return resourceType === 'Patient' || this.params.has(resourceType);
  }

  types(): string[] {
    return ['Patient', ...this.params.keys()];
  }

  /** Every patient id the resource belongs to, first the owner (subject/patient before author-like params). */
  patientsOf(resource: Resource): string[] {
    if (resource.resourceType === 'Patient') return resource.id ? [resource.id] : [];
    const found: string[] = [];
    for (const code of this.params.get(resource.resourceType) ?? []) {
      const def = this.registry.get(resource.resourceType, code);
      if (!def) continue;
      for (const value of def.evaluate(resource)) {
        const patient = localReference((value as { reference?: unknown }).reference, this.baseUrl);
        if (patient?.type === 'Patient' && !found.includes(patient.id)) found.push(patient.id);
      }
    }
    return found;
  }
}
