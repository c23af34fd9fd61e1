/**
 * Which resource types exist and how Carnet treats each: stored (every R4
 * type), conformance (read-only, served from profiles/ and terminology/), or
 * unknown (404). Also the id grammar of R4.
 */
import { allResourceTypes } from './definitions';
import { badRequest, FhirError, notAllowed } from './errors';

export const CONFORMANCE_TYPES = new Set([
  'StructureDefinition',
  'SearchParameter',
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'CapabilityStatement',
  'CompartmentDefinition',
  'OperationDefinition',
]);

/** Types that are containers or outcomes, never stored on their own. */
const NOT_STORED = new Set(['Bundle', 'Parameters', 'OperationOutcome']);

export function isConformanceType(type: string): boolean {
  return CONFORMANCE_TYPES.has(type);
}

/** Throws 404 for a name that is not an R4 resource type. */
export function requireKnownType(type: string): void {
  if (!allResourceTypes().has(type)) throw new FhirError(404, 'not-found', `unknown resource type ${type}`);
}

/** Throws 404 for an unknown type, 405 for types Carnet does not store as such. */
export function requireStoredType(type: string, interaction: string): void {
  requireKnownType(type);
  if (isConformanceType(type)) throw notAllowed(`${type} is read-only on this server (${interaction} refused)`);
  if (NOT_STORED.has(type) && type !== 'Bundle') throw notAllowed(`${type} resources are not stored`);
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function requireValidId(id: string, expression = 'id'): void {
  if (!ID.test(id)) throw badRequest(`invalid id "${id.slice(0, 80)}": 1 to 64 letters, digits, '-' or '.'`, expression);
}
