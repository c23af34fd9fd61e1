/**
 * OperationDefinitions of Carnet's own operations, served read-only from the
 * catalogue so the CapabilityStatement's `operation.definition` resolves.
 * Pure data; never implements an operation.
 */
import type { OperationDefinition } from 'fhir/r4';

/** `GET Patient/{id}/$verify-audit` (CONTRACT §6; src/audit/verify.ts): the patient's audit chain, recomputed. */
export const VERIFY_AUDIT_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-verify-audit',
  url: 'https://carnet.sante.fr/fhir/OperationDefinition/Patient-verify-audit',
  name: 'VerifyAudit',
  title: "Verify a patient's activity history chain",
  status: 'active',
  kind: 'operation',
  code: 'verify-audit',
  description: "Recomputes the hash chain of the patient's AuditEvents and reports whether it is intact; the patient, their legal representatives and AUDIT_VERIFIERS clients may run it.",
  resource: ['Patient'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  parameter: [{ name: 'return', use: 'out', min: 1, max: '1', type: 'Parameters', documentation: 'The verdict and the chain report' }],
};
