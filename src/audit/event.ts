/**
 * The shape of one AuditEvent (IHE BALP, CONTRACT §6): which RESTful
 * interaction a request was (subtype, action), how it ended (outcome), who
 * asked and why (agent, purposeOfUse, break-glass reason), who observed it
 * (source) and what it touched (the patient, each resource, the query).
 * Pure: builds the resource from facts; never decides whether to audit.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding, Reference } from 'fhir/r4';
import { header, type FhirRequest, type QueryParams } from '../kernel/request';
import { submitterOf, type Caller } from '../kernel/caller';
import { documentNames } from './names';

export const AUDIT_EVENT_TYPE: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' };
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
export const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
export const CLIENT_IDENTIFIER_SYSTEM = 'https://carnet.example.org/fhir/sid/client';

export type Action = NonNullable<AuditEvent['action']>;
export type Purpose = 'TREAT' | 'ETREAT' | 'BTG';
export const PURPOSES: readonly Purpose[] = ['TREAT', 'ETREAT', 'BTG'];

export interface Interaction {
  subtype: string; // restful-interaction code, or the IHE transaction (ITI-65)
  action: Action;
  /** True for searches and operations: the query is recorded as an entity. */
  query: boolean;
  /** An IHE transaction (not a RESTful interaction): its event type and subtype as IHE BALP/MHD record it. */
  ihe?: { type: Coding; subtype: Coding };
}

/**
 * An ITI-65 Provide Document Bundle as the Document Recipient records it (IHE MHD
 * IHE.MHD.ProvideBundle.Audit.Recipient): DICOM Import, subtype ITI-65, the SubmissionSet as a Job.
 */
export const PROVIDE_BUNDLE: Interaction = {
  subtype: 'ITI-65',
  action: 'C',
  query: false,
  ihe: {
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110107', display: 'Import' },
    subtype: { system: 'urn:ihe:event-type-code', code: 'ITI-65', display: 'Provide Document Bundle' },
  },
};

/** The restful-interaction code and C/R/U/D/E action of a request (`status` tells update-as-create). */
export function interactionOf(request: FhirRequest, status: number): Interaction {
  const segments = request.path === '' ? [] : request.path.split('/');
  const last = segments[segments.length - 1] ?? '';
  if (last.startsWith('$')) return { subtype: 'operation', action: 'E', query: true };
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const history = segments.indexOf('_history');
  if (method === 'GET' || (method === 'POST' && last === '_search')) {
    if (history === 0) return { subtype: 'history-system', action: 'R', query: false };
    if (history === 1) return { subtype: 'history-type', action: 'R', query: false };
    if (history === 2) return segments.length === 4 ? { subtype: 'vread', action: 'R', query: false } : { subtype: 'history-instance', action: 'R', query: false };
    if (segments.length === 0) return { subtype: 'search-system', action: 'E', query: true };
    if (segments.length === 1 || last === '_search') return { subtype: 'search-type', action: 'E', query: true };
    return { subtype: 'read', action: 'R', query: false };
  }
  switch (method) {
    case 'POST':
      return segments.length === 0 ? { subtype: 'batch', action: 'E', query: false } : { subtype: 'create', action: 'C', query: false };
    case 'PUT':
      return { subtype: 'update', action: status === 201 ? 'C' : 'U', query: false };
    case 'PATCH':
      return { subtype: 'patch', action: 'U', query: false };
    default:
      return { subtype: 'delete', action: 'D', query: false };
  }
}

/** BALP outcome: 0 success, 4 denied or client error, 8 server error. */
export function outcomeOf(status: number): '0' | '4' | '8' {
  if (status < 400) return '0';
  return status < 500 ? '4' : '8';
}

export interface PurposeOfUse {
  purpose: Purpose;
  breakGlassReason?: string;
}

/**
 * A practitioner's mode: the HTTP adapter puts it on the Caller
 * (`purposeOfUse`, `breakGlassReason`, src/access/purpose-of-use.ts); a
 * request built without it (a test, a script) is read from its headers.
 * Default TREAT. Other callers act for themselves and carry no purpose of use.
 */
export function purposeOfUseOf(caller: Caller, request: FhirRequest): PurposeOfUse | undefined {
  if (caller.kind !== 'practitioner') return undefined;
  const stated = caller.purposeOfUse ?? header(request, 'x-purpose-of-use')?.trim().toUpperCase();
  const purpose = PURPOSES.find((p) => p === stated) ?? 'TREAT';
  const reason = caller.breakGlassReason ?? header(request, 'x-break-glass-reason')?.trim();
  return purpose === 'BTG' && reason ? { purpose, breakGlassReason: reason.slice(0, 1000) } : { purpose };
}

export function agentReference(caller: Caller): Reference {
  switch (caller.kind) {
    case 'patient':
      return { reference: `Patient/${caller.patientId}` };
    case 'related-person':
      return { reference: `RelatedPerson/${caller.relatedPersonId}` };
    case 'practitioner':
      return { reference: `Practitioner/${caller.practitionerId}` };
    case 'system':
      return { identifier: { system: CLIENT_IDENTIFIER_SYSTEM, value: caller.clientId } };
  }
}

function agentOf(caller: Caller, purpose: PurposeOfUse | undefined): AuditEventAgent {
  const agent: AuditEventAgent = {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }] },
    who: agentReference(caller),
    requestor: true,
  };
  if (purpose) {
    agent.purposeOfUse = [{ coding: [{ system: ACT_REASON, code: purpose.purpose }], ...(purpose.breakGlassReason ? { text: purpose.breakGlassReason } : {}) }];
  }
  return agent;
}

/** The request as BALP records a query: path and parameters, base64. */
export function queryText(request: FhirRequest): string {
  const params: QueryParams = [...request.query];
  if (typeof request.body === 'string') params.push(...new URLSearchParams(request.body));
  const search = new URLSearchParams(params).toString();
  return Buffer.from(`${request.path}${search ? `?${search}` : ''}`, 'utf8').toString('base64');
}

export interface AuditFacts {
  id: string;
  recorded: Date;
  /** Who asked, in which mode (the session's caller). */
  caller: Caller;
  /** The request (for a Bundle's entries, the Bundle's request). */
  request: FhirRequest;
  /** What was done; default interactionOf(request, status). */
  interaction?: Interaction;
  /** Recorded queries (base64, queryText); default the request's own when the interaction is a query. */
  queries?: string[];
  status: number;
  patientId: string;
  /** References (`Type/id` or `Type/id/_history/n`) of the patient's resources the request touched. */
  touched: string[];
  /** FHIR base URL of this server (the observer). */
  observer: string;
  /** An ITI-65 submission's SubmissionSet (`List/id`), recorded as its Job. */
  submissionSet?: string;
}

/** Indexed columns stored next to the resource (search, access history, notifications). */
export interface AuditColumns {
  agent: string; // submitterOf(caller): Practitioner/P, RelatedPerson/R, Patient/Y, client:<sub>
  action: Action;
  subtype: string;
  outcome: number;
  purpose: Purpose | null;
  /** The documents it names (names.ts), stored beside it for hidden-events.ts. */
  names: string[];
}

export function buildAuditEvent(facts: AuditFacts): { event: AuditEvent; columns: AuditColumns } {
  const { request, caller, status, patientId } = facts;
  const interaction = facts.interaction ?? interactionOf(request, status);
  const queries = facts.queries ?? (interaction.query ? [queryText(request)] : []);
  const purpose = purposeOfUseOf(caller, request);
  const outcome = outcomeOf(status);
  const recorded = facts.recorded.toISOString();
  const entity: AuditEventEntity[] = [
    { what: { reference: `Patient/${patientId}` }, type: { system: ENTITY_TYPE, code: '1', display: 'Person' }, role: { system: OBJECT_ROLE, code: '1', display: 'Patient' } },
    ...facts.touched.filter((reference) => reference.replace(/\/_history\/[^/]+$/, '') !== facts.submissionSet).map((reference) => ({
      what: { reference },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    })),
  ];
  if (facts.submissionSet) {
    entity.splice(1, 0, { what: { reference: facts.submissionSet }, type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '20', display: 'Job' } });
  }
  for (const query of queries) {
    entity.push({ type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '24', display: 'Query' }, query });
  }
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id: facts.id,
    meta: { versionId: '1', lastUpdated: recorded },
    type: interaction.ihe?.type ?? AUDIT_EVENT_TYPE,
    subtype: [interaction.ihe?.subtype ?? { system: RESTFUL_INTERACTION, code: interaction.subtype }],
    action: interaction.action,
    recorded,
    outcome,
    ...(outcome === '0' ? {} : { outcomeDesc: `HTTP ${status}` }),
    agent: [agentOf(caller, purpose)],
    source: {
      site: 'Carnet',
      observer: { display: 'Carnet', identifier: { system: 'urn:ietf:rfc:3986', value: facts.observer } },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity,
  };
  const columns: AuditColumns = {
    agent: submitterOf(caller),
    action: interaction.action,
    subtype: interaction.subtype,
    outcome: Number(outcome),
    purpose: purpose?.purpose ?? null,
    names: documentNames(event),
  };
  return { event, columns };
}
