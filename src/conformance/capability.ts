/**
 * The CapabilityStatement, generated from what the server really supports:
 * the stored resource types, the interactions the route table serves for each
 * (conformance types read-only, AuditEvent written by the server only), the
 * search parameters the engine compiles (never composite, special, `_text`,
 * `_content` or `_query`), the `_include`/`_revinclude` targets of its
 * reference parameters, the operations routed, and the profiles loaded.
 * test/conformance/capability-truth.test.ts exercises every claim.
 * Never claims what a route answers 405 or 400 to.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';
import { allResourceTypes } from '../kernel/definitions';
import { isConformanceType } from '../kernel/resource-types';
import type { SearchParamDef, SearchParameterRegistry } from '../search/parameters';
import { isKnownParameter } from '../search/known';
import { CATALOGUE_SEARCH_PARAMETERS } from './catalogue';

export interface CapabilityInputs {
  baseUrl: string;
  registry: SearchParameterRegistry;
  /** The profiles of `profiles/` (canonical URL and the resource type they constrain): each type's supportedProfile. */
  profiles: { url: string; type: string }[];
  version: string;
  operations: { name: string; definition: string; types?: string[] }[];
  /** The SMART backend-services token endpoint (§8): rest.security's oauth-uris extension. */
  oauth?: { token: string };
  /** A type only the server writes (AuditEvent): read, vread, its history and a search on these parameters; writes answer 405. */
  recorded?: { type: string; searchParams: readonly string[] };
  /** `cors`: CORS_ORIGINS allows some browser origins (rest.security.cors). */
  features: { batch: boolean; transaction: boolean; search: boolean; cors?: boolean };
}

const WRITE_INTERACTIONS = ['create', 'update', 'patch', 'delete'] as const;

export function buildCapabilityStatement(inputs: CapabilityInputs): CapabilityStatement {
  const types = [...allResourceTypes()].filter((type) => !['Bundle', 'Parameters', 'OperationOutcome'].includes(type)).sort();
  const includes = includeTargets(inputs, types);
  const resources: CapabilityStatementRestResource[] = types.map((type) => resourceEntry(type, inputs, includes));
  return {
    resourceType: 'CapabilityStatement',
    id: 'carnet',
    url: `${inputs.baseUrl}/metadata`,
    name: 'Carnet',
    title: 'Carnet FHIR R4 server',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    publisher: 'Carnet',
    kind: 'instance',
    software: { name: 'Carnet', version: inputs.version },
    implementation: { description: 'Carnet: patient-controlled health record', url: inputs.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'], // JSON Patch and FHIRPath Patch (api/interactions/patch.ts)
    rest: [
      {
        mode: 'server',
        security: {
          ...(inputs.oauth ? { extension: [oauthUris(inputs.oauth.token)] } : {}),
          cors: inputs.features.cors === true,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          description: `Bearer JWT (RS256/ES256) from a trusted identity provider or issued by Carnet${inputs.oauth ? ' (SMART backend services: client_credentials with a private_key_jwt assertion, RS384/ES384, at the oauth-uris token endpoint)' : ''}; SMART v1/v2 scopes.`,
        },
        resource: resources,
        // compartment search: GET Patient/X/[type] and Patient/X/* (api/interactions/compartment.ts)
        compartment: ['http://hl7.org/fhir/CompartmentDefinition/patient'],
        interaction: [
          { code: 'history-system' },
          ...(inputs.features.batch ? [{ code: 'batch' as const }] : []),
          ...(inputs.features.transaction ? [{ code: 'transaction' as const }] : []),
          ...(inputs.features.search ? [{ code: 'search-system' as const }] : []),
        ],
        operation: inputs.operations.filter((op) => !op.types).map((op) => ({ name: op.name, definition: op.definition })),
      },
    ],
  };
}

/** SMART's oauth-uris extension: only the token endpoint (no authorize endpoint: no user-facing launch). */
function oauthUris(token: string): NonNullable<CapabilityStatement['extension']>[number] {
  return { url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri: token }] };
}

/** The interactions the route table serves for a type, by the type's write rules. */
function interactionsOf(type: string, inputs: CapabilityInputs): string[] {
  if (isConformanceType(type)) return ['read', 'search-type']; // served from the catalogue, read-only (405 on writes)
  if (inputs.recorded?.type === type) return ['read', 'vread', 'history-instance', 'search-type']; // written by the server only (405 on writes)
  return ['read', 'vread', 'history-instance', 'history-type', ...WRITE_INTERACTIONS, 'search-type'];
}

/** The search parameters a search of the type really compiles (composite, special and `_text`-like ones are not claimed). */
function searchParamsOf(type: string, inputs: CapabilityInputs): SearchParamDef[] {
  const defs = inputs.registry.forType(type);
  if (isConformanceType(type)) return defs.filter((def) => (CATALOGUE_SEARCH_PARAMETERS as readonly string[]).includes(def.code));
  if (inputs.recorded?.type === type) return defs.filter((def) => inputs.recorded?.searchParams.includes(def.code));
  return defs.filter((def) => isKnownParameter(inputs.registry, type, def.code));
}

/** `_include` targets of every indexed type (its reference parameters) and `_revinclude` sources (reference parameters aiming at it). */
function includeTargets(inputs: CapabilityInputs, types: string[]): { include: Map<string, string[]>; revinclude: Map<string, string[]> } {
  const include = new Map<string, string[]>();
  const revinclude = new Map<string, string[]>();
  const indexed = types.filter((type) => !isConformanceType(type) && inputs.recorded?.type !== type);
  for (const source of indexed) {
    const references = searchParamsOf(source, inputs).filter((def) => def.type === 'reference');
    include.set(source, references.map((def) => `${source}:${def.code}`));
    for (const def of references) {
      for (const target of def.targets) {
        if (!indexed.includes(target)) continue;
        revinclude.set(target, [...(revinclude.get(target) ?? []), `${source}:${def.code}`]);
      }
    }
  }
  return { include, revinclude };
}

function resourceEntry(type: string, inputs: CapabilityInputs, includes: ReturnType<typeof includeTargets>): CapabilityStatementRestResource {
  const writable = !isConformanceType(type) && inputs.recorded?.type !== type;
  const entry: CapabilityStatementRestResource = {
    type: type as CapabilityStatementRestResource['type'],
    interaction: interactionsOf(type, inputs).map((code) => ({ code: code as NonNullable<CapabilityStatementRestResource['interaction']>[number]['code'] })),
    versioning: writable ? 'versioned-update' : isConformanceType(type) ? 'no-version' : 'versioned',
    readHistory: !isConformanceType(type),
    updateCreate: writable,
    conditionalCreate: writable,
    conditionalRead: writable ? 'full-support' : 'not-supported',
    conditionalUpdate: writable,
    conditionalDelete: writable ? 'single' : 'not-supported',
    referencePolicy: ['literal', 'local'],
    searchParam: searchParamsOf(type, inputs).map((param) => ({ name: param.code, definition: param.definition.url, type: param.type })),
  };
  const searchInclude = includes.include.get(type) ?? [];
  if (searchInclude.length > 0) entry.searchInclude = searchInclude;
  const searchRevInclude = [...new Set(includes.revinclude.get(type) ?? [])].sort();
  if (searchRevInclude.length > 0) entry.searchRevInclude = searchRevInclude;
  const supported = inputs.profiles.filter((profile) => profile.type === type).map((profile) => profile.url);
  if (supported.length > 0) entry.supportedProfile = supported;
  const operations = inputs.operations.filter((op) => op.types?.includes(type));
  if (operations.length > 0) entry.operation = operations.map((op) => ({ name: op.name, definition: op.definition }));
  return entry;
}
