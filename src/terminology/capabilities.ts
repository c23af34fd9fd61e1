/**
 * What Carnet offers as a terminology server: the TerminologyCapabilities
 * of `GET /fhir/metadata?mode=terminology` (every code system held, with its
 * version, and how `$expand` and `$validate-code` behave), and the
 * operations the CapabilityStatement lists on CodeSystem and ValueSet.
 * Generated from the index, so it never names a code system not served.
 */
import type { TerminologyCapabilities } from 'fhir/r4';
import type { TerminologyIndex } from './terminology-index';

/** The terminology operations, as the CapabilityStatement lists them (name, definition, types). */
export const TERMINOLOGY_OPERATIONS = [
  { name: 'lookup', definition: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup', types: ['CodeSystem'] },
  { name: 'validate-code', definition: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code', types: ['CodeSystem'] },
  { name: 'validate-code', definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code', types: ['ValueSet'] },
  { name: 'expand', definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand', types: ['ValueSet'] },
] as const;

export interface TerminologyCapabilitiesInputs {
  baseUrl: string; // the FHIR base
  version: string; // Carnet's
}

export function buildTerminologyCapabilities(index: TerminologyIndex, inputs: TerminologyCapabilitiesInputs): TerminologyCapabilities {
  return {
    resourceType: 'TerminologyCapabilities',
    id: 'carnet-terminology',
    url: `${inputs.baseUrl}/metadata?mode=terminology`,
    name: 'CarnetTerminology',
    title: 'Carnet terminology services',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    publisher: 'Carnet',
    description:
      'The code systems and value sets of terminology/ and profiles/, served read-only with CodeSystem/$lookup, CodeSystem/$validate-code, ValueSet/$validate-code and ValueSet/$expand (type and instance level, GET and POST). Nothing is fetched from another terminology server.',
    kind: 'instance',
    software: { name: 'Carnet', version: inputs.version },
    implementation: { description: 'Carnet: patient-controlled health record', url: inputs.baseUrl },
    lockedDate: false,
    codeSystem: index
      .codeSystems()
      .filter((system) => system.url !== undefined)
      .map((system) => ({
        uri: system.url,
        ...(system.version !== undefined ? { version: [{ code: system.version, isDefault: true }] } : {}),
        subsumption: false,
      })),
    expansion: {
      hierarchical: false,
      paging: true,
      incomplete: false,
      parameter: [
        { name: 'filter', documentation: 'every word found in the code or the display, case- and accent-insensitively' },
        { name: 'count', documentation: 'at most this many concepts (default 1000)' },
        { name: 'offset', documentation: 'skip this many matching concepts' },
      ],
      textFilter: 'Every word of the filter must appear in the code or the display; case and accents are ignored ("medecin" finds "Médecin").',
    },
    validateCode: { translations: false },
  };
}
