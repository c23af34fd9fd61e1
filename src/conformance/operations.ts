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

/** `GET|POST DocumentReference/{id}/$access` (CONTRACT §10; src/api/interactions/access.ts): who can see this document, and why. */
export const ACCESS_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'DocumentReference-access',
  url: 'https://carnet.example.org/fhir/OperationDefinition/DocumentReference-access',
  name: 'Access',
  title: 'Who can see this document, and why',
  status: 'active',
  kind: 'operation',
  code: 'access',
  description:
    "For each practitioner who has accessed the patient's space or holds an authorize, block or administrator choice of the patient: whether they can see the document (in TREAT, and in ETREAT and BTG), and the rules that decide, as codes and in words (French by default, English with _lang=en or Accept-Language). Only the patient and their legal representatives may run it; for anyone else it is 404 for a document they may not see, else 403.",
  resource: ['DocumentReference'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  parameter: [
    { name: '_lang', use: 'in', min: 0, max: '1', type: 'code', documentation: 'fr (default) or en' },
    {
      name: 'professional',
      use: 'out',
      min: 0,
      max: '*',
      documentation: 'One per practitioner: practitioner, profession*, accessed, choice*, canSee, reason+ (code, text), decision, emergency (mode ETREAT, then BTG: mode, label, canSee, reason+, decision)',
      part: [
        { name: 'practitioner', use: 'out', min: 1, max: '1', type: 'Reference' },
        { name: 'profession', use: 'out', min: 0, max: '*', type: 'Coding' },
        { name: 'accessed', use: 'out', min: 1, max: '1', type: 'boolean' },
        { name: 'choice', use: 'out', min: 0, max: '*', type: 'code' },
        { name: 'canSee', use: 'out', min: 1, max: '1', type: 'boolean' },
        { name: 'reason', use: 'out', min: 1, max: '*', documentation: 'code: grid | hidden | hide-all | blocked | not-authorized | author | administrator | masked | no-active-role | not-samu | emergency-refused | closed-space; text: in the answer language' },
        { name: 'decision', use: 'out', min: 1, max: '1', type: 'string' },
        { name: 'emergency', use: 'out', min: 2, max: '2' },
      ],
    },
    { name: 'document', use: 'out', min: 1, max: '1', type: 'Reference' },
  ],
};
