/**
 * The search tests' data set and helpers, on the one test server
 * (test/support/server.ts): resources are written through production's store
 * and indexers (`server.put`, as system client `test`), and searched through
 * production's engine in a session of that client, with the access predicate
 * each test gives (all rows by default: these suites test the engine, the
 * access suites test the predicates).
 */
import type { Resource } from 'fhir/r4';
import type { StoredResource } from '../../src/kernel/stored';
import { allowAll, type RowPredicate } from '../../src/kernel/predicate';
import type { SearchEngine, SearchResult } from '../../src/kernel/ports';
import type { QueryParams } from '../../src/kernel/request';
import { submitterOf, type Caller } from '../../src/kernel/caller';
import type { SearchParameterRegistry } from '../../src/search/parameters';
import type { Handling } from '../../src/search/query';
import { parseScopes } from '../../src/identity/scopes';
import { BASE as SERVER_BASE, startTestServer, type TestServer } from '../support/server';

/** The test server's FHIR base: absolute references on it are local. */
export const BASE = `${SERVER_BASE}/fhir`;

/** The system client every resource of these suites is written as (`client:test`). */
export const CREATOR: Caller = { kind: 'system', sub: 'test', clientId: 'test', scopes: parseScopes('system/*.*'), operator: true };

/** A resource as tests write it: loosely typed JSON with a type and an id. */
export type Doc = { resourceType: string; id: string; [key: string]: unknown };

export interface SearchServer {
  server: TestServer;
  /** Production's search engine, in a session of CREATOR. */
  engine: SearchEngine;
  registry: SearchParameterRegistry;
  /** Writes `doc` as CREATOR (version 1, or the next version). */
  put: (resource: Doc) => Promise<StoredResource>;
  remove: (type: string, id: string) => Promise<void>;
  search: (type: string | undefined, query: string, options?: { access?: (type: string) => RowPredicate; handling?: Handling }) => Promise<SearchResult>;
  ids: (type: string | undefined, query: string, access?: (type: string) => RowPredicate) => Promise<string[]>;
  close: () => Promise<void>;
}

export function params(query: string): QueryParams {
  return [...new URLSearchParams(query).entries()];
}

/** A test server with nothing written yet. */
export async function searchServer(): Promise<SearchServer> {
  const server = await startTestServer();
  const session = server.session(CREATOR);
  const engine = session.search;
  const put = (doc: Doc) => server.put(doc as unknown as Resource, submitterOf(CREATOR));
  const remove = async (type: string, id: string) => {
    await server.remove(type, id);
  };
  const search: SearchServer['search'] = (type, query, options = {}) =>
    engine.search({ resourceType: type, query: params(query), access: options.access ?? (() => allowAll), handling: options.handling });
  const ids: SearchServer['ids'] = async (type, query, access) => {
    const result = await search(type, query, { access });
    return result.matches.map((row) => (type ? row.id : `${row.resourceType}/${row.id}`));
  };
  return { server, engine, registry: session.registry, put, remove, search, ids, close: () => server.close() };
}

const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
export const PROFILE = 'https://carnet.example.org/fhir/StructureDefinition/carnet-patient';

/** The shared data set: four patients, two practitioners, an organization, observations, documents, a vaccine… */
export const DATA: Doc[] = [
  { resourceType: 'Organization', id: 'o1', name: 'Hôpital Saint-Louis' },
  { resourceType: 'Organization', id: 'o2', name: 'Clinique du Parc', partOf: { reference: 'Organization/o1' } },
  { resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'House', given: ['Gregory'] }], identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810000000001' }] },
  { resourceType: 'Practitioner', id: 'pr2', name: [{ family: 'Grey', given: ['Meredith'] }] },
  {
    resourceType: 'Patient',
    id: 'p1',
    meta: { tag: [{ system: 'urn:carnet:tag', code: 'vip' }], profile: [PROFILE], security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
    active: true,
    name: [{ family: 'Durand', given: ['Élodie', 'Marie'] }],
    gender: 'female',
    birthDate: '1980-05-15',
    identifier: [{ system: NIR, value: '2800575123456', type: { text: 'NIR' } }],
    telecom: [{ system: 'email', value: 'elodie@example.org' }, { system: 'phone', value: '+33600000001' }],
    address: [{ city: 'Paris', postalCode: '75010', line: ['1 rue de la Paix'] }],
    generalPractitioner: [{ reference: 'Practitioner/pr1' }],
    managingOrganization: { reference: 'Organization/o1' },
  },
  {
    resourceType: 'Patient',
    id: 'p2',
    active: false,
    name: [{ family: 'Martin', given: ['Jean'] }],
    gender: 'male',
    birthDate: '1975',
    identifier: [{ system: NIR, value: '1750575000001' }],
    address: [{ city: 'Lyon' }],
    generalPractitioner: [{ reference: 'Practitioner/pr2' }],
    managingOrganization: { reference: 'Organization/o2' },
  },
  {
    resourceType: 'Patient',
    id: 'p3',
    meta: { profile: ['https://carnet.example.org/fhir/StructureDefinition/other'] },
    name: [{ family: 'Dupont-Lefèvre', given: ['Zoë'], text: 'Zoë Dupont-Lefèvre' }],
    gender: 'female',
    birthDate: '2010-01-01',
    deceasedDateTime: '2020-02-02T10:00:00+01:00',
    address: [{ city: 'Paris' }],
    generalPractitioner: [{ reference: 'Practitioner/pr1' }],
  },
  { resourceType: 'Patient', id: 'p4', name: [{ family: 'Durandal', given: ['Marc'] }], gender: 'male' },
  {
    resourceType: 'Observation',
    id: 'obs1',
    status: 'final',
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }], text: 'Tension systolique' },
    valueQuantity: { value: 120, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
    effectiveDateTime: '2024-01-10T10:00:00Z',
    performer: [{ reference: 'Practitioner/pr1' }],
  },
  {
    resourceType: 'Observation',
    id: 'obs2',
    status: 'final',
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: LOINC, code: '8480-6' }] },
    valueQuantity: { value: 140.5, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
    effectivePeriod: { start: '2024-02-01', end: '2024-02-03' },
  },
  {
    resourceType: 'Observation',
    id: 'obs3',
    status: 'final',
    subject: { reference: 'Patient/p2' },
    code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }] },
    valueQuantity: { value: 80, unit: 'kg', system: UCUM, code: 'kg' },
    effectiveDateTime: '2023-06',
  },
  {
    resourceType: 'Observation',
    id: 'obs4',
    status: 'preliminary',
    subject: { reference: 'Patient/p3' },
    code: { coding: [{ system: LOINC, code: '8480-6' }] },
    valueQuantity: { value: 100, unit: 'mmHg' },
    effectiveDateTime: '2024-01-10',
  },
  { resourceType: 'RiskAssessment', id: 'ra1', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 0.25 }] },
  { resourceType: 'RiskAssessment', id: 'ra2', status: 'final', subject: { reference: 'Patient/p2' }, prediction: [{ probabilityDecimal: 0.8 }] },
  { resourceType: 'RiskAssessment', id: 'ra3', status: 'final', subject: { reference: 'Patient/p3' }, prediction: [{ probabilityRange: { low: { value: 0.1 }, high: { value: 0.3 } } }] },
  {
    resourceType: 'DocumentReference',
    id: 'd1',
    status: 'current',
    subject: { reference: 'Patient/p1' },
    type: { coding: [{ system: LOINC, code: '11488-4', display: 'Consult note' }] },
    date: '2024-03-01T09:00:00Z',
    author: [{ reference: 'Practitioner/pr1' }],
    description: 'Compte rendu de consultation',
    content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/b1' } }],
  },
  {
    resourceType: 'DocumentReference',
    id: 'd2',
    status: 'superseded',
    subject: { reference: 'Patient/p1' },
    type: { coding: [{ system: LOINC, code: '34133-9', display: 'Summary of episode note' }] },
    date: '2023-12-24T18:30:00+01:00',
    author: [{ reference: 'Practitioner/pr2' }],
    content: [{ attachment: { contentType: 'text/plain' } }],
  },
  {
    resourceType: 'DocumentReference',
    id: 'd3',
    status: 'current',
    subject: { reference: 'Patient/p2' },
    type: { coding: [{ system: LOINC, code: '11488-4' }] },
    date: '2024-03-02T09:00:00Z',
    author: [{ reference: 'Practitioner/pr1' }],
    content: [{ attachment: { contentType: 'application/pdf' } }],
  },
  {
    resourceType: 'DocumentReference',
    id: 'd4',
    status: 'current',
    subject: { reference: 'http://other.example/fhir/Patient/p1' },
    type: { coding: [{ system: LOINC, code: '11488-4' }] },
    content: [{ attachment: { contentType: 'application/pdf' } }],
  },
  {
    resourceType: 'DocumentReference',
    id: 'd5',
    status: 'current',
    subject: { reference: `${BASE}/Patient/p3` },
    type: { coding: [{ system: LOINC, code: '11488-4' }] },
    content: [{ attachment: { contentType: 'application/pdf' } }],
  },
  {
    resourceType: 'Immunization',
    id: 'im1',
    status: 'completed',
    patient: { reference: 'Patient/p1' },
    vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207' }] },
    occurrenceDateTime: '2021-05-01',
    performer: [{ actor: { reference: 'Practitioner/pr1' } }],
    lotNumber: 'AB12',
  },
  {
    resourceType: 'Encounter',
    id: 'e1',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/p1', identifier: { system: NIR, value: '2800575123456' } },
    participant: [{ individual: { reference: 'Practitioner/pr1' } }],
    serviceProvider: { reference: 'Organization/o1' },
    length: { value: 45, unit: 'min', system: UCUM, code: 'min' },
  },
  { resourceType: 'Questionnaire', id: 'q1', status: 'active', url: 'http://example.org/Questionnaire/phq9', version: '1.0' },
  { resourceType: 'Questionnaire', id: 'q2', status: 'active', url: 'http://example.org/Questionnaire/phq9/short' },
  { resourceType: 'QuestionnaireResponse', id: 'qr1', status: 'completed', questionnaire: 'http://example.org/Questionnaire/phq9|1.0', subject: { reference: 'Patient/p1' } },
  { resourceType: 'QuestionnaireResponse', id: 'qr2', status: 'completed', questionnaire: 'http://example.org/Questionnaire/phq9/short', subject: { reference: 'Patient/p2' } },
];

/** A test server holding DATA. */
export async function seeded(): Promise<SearchServer> {
  const b = await searchServer();
  for (const resource of DATA) await b.put(resource);
  return b;
}
