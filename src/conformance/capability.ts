/**
 * The CapabilityStatement, generated from what the server really supports:
 * the stored resource types, their interactions, the registry's search
 * parameters, the operations routed, and the profiles loaded.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';
import { allResourceTypes } from '../kernel/definitions';
import { isConformanceType } from '../kernel/resource-types';
import type { SearchParameterRegistry } from '../search/parameters';

export interface CapabilityInputs {
  baseUrl: string;
  registry: SearchParameterRegistry;
  profiles: string[];
  version: string;
  operations: { name: string; definition: string; types?: string[] }[];
  /** The SMART backend-services token endpoint (§8): rest.security's oauth-uris extension. */
  oauth?: { token: string };
  /** `cors`: CORS_ORIGINS allows some browser origins (rest.security.cors). */
  features: { batch: boolean; transaction: boolean; search: boolean; cors?: boolean };
}

const WRITE_INTERACTIONS = ['create', 'update', 'patch', 'delete'] as const;

export function buildCapabilityStatement(inputs: CapabilityInputs): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = [...allResourceTypes()]
    .filter((type) => !['Bundle', 'Parameters', 'OperationOutcome'].includes(type))
    .sort()
    .map((type) => resourceEntry(type, inputs));
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
    patchFormat: ['application/json-patch+json'],
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

function resourceEntry(type: string, inputs: CapabilityInputs): CapabilityStatementRestResource {
  const readOnly = isConformanceType(type);
  const interactions = ['read', ...(readOnly ? [] : ['vread', 'history-instance', 'history-type', ...WRITE_INTERACTIONS]), 'search-type'] as const;
  const entry: CapabilityStatementRestResource = {
    type: type as CapabilityStatementRestResource['type'],
    interaction: interactions.map((code) => ({ code: code as NonNullable<CapabilityStatementRestResource['interaction']>[number]['code'] })),
    versioning: 'versioned-update',
    readHistory: !readOnly,
    updateCreate: !readOnly,
    conditionalCreate: !readOnly,
    conditionalRead: readOnly ? 'not-supported' : 'full-support',
    conditionalUpdate: !readOnly,
    conditionalDelete: readOnly ? 'not-supported' : 'single',
    referencePolicy: ['literal', 'local'],
    searchParam: inputs.registry.forType(type).map((param) => ({
      name: param.code,
      definition: param.definition.url,
      type: param.type,
    })),
  };
  const supported = inputs.profiles.filter((url) => url.includes(`/carnet-${type.toLowerCase()}`));
  if (supported.length > 0) entry.supportedProfile = supported;
  const operations = inputs.operations.filter((op) => op.types?.includes(type));
  if (operations.length > 0) entry.operation = operations.map((op) => ({ name: op.name, definition: op.definition }));
  return entry;
}
