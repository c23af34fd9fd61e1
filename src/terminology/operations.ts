/**
 * The terminology operations of Carnet (CONTRACT §5), bound to the index of
 * the code systems and value sets served: what the route table mounts at
 * `CodeSystem/$lookup`, `CodeSystem/$validate-code`,
 * `ValueSet/$validate-code` and `ValueSet/$expand` (and their instance
 * forms), and the TerminologyCapabilities of `metadata?mode=terminology`.
 * Any identified caller may call them: they disclose no patient data.
 */
import type { CodeSystem, TerminologyCapabilities, ValueSet } from 'fhir/r4';
import type { Handler } from '../kernel/ports';
import { TerminologyIndex } from './terminology-index';
import { lookupOperation } from './lookup';
import { validateCodeSystemCodeOperation, validateValueSetCodeOperation } from './validate-code';
import { expandOperation } from './expand';
import { buildTerminologyCapabilities, type TerminologyCapabilitiesInputs } from './capabilities';

export interface TerminologyOperations {
  lookup: Handler;
  validateCodeSystemCode: Handler;
  validateValueSetCode: Handler;
  expand: Handler;
  capabilities: () => TerminologyCapabilities;
}

export function terminologyOperations(resources: ReadonlyArray<CodeSystem | ValueSet>, inputs: TerminologyCapabilitiesInputs): TerminologyOperations {
  const index = new TerminologyIndex(resources);
  const capabilities = buildTerminologyCapabilities(index, inputs);
  return {
    lookup: lookupOperation(index),
    validateCodeSystemCode: validateCodeSystemCodeOperation(index),
    validateValueSetCode: validateValueSetCodeOperation(index),
    expand: expandOperation(index),
    capabilities: () => capabilities,
  };
}
