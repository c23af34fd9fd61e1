/**
 * A patient's space with something of every kind (§4): Patient X (a minor, with an INS-NIR and
 * an email), a legal representative, documents with their Binaries (linked now, linked by an
 * earlier version only, a securityContext of X or of a document, one shared with another
 * patient's document), choices, an immunization, observations (one updated, one deleted), an
 * appointment, a communication — and activity: a practitioner's audited reads, a refused one,
 * the representative reading the history. For the erasure and export suites.
 */
import type { Resource } from 'fhir/r4';
import type { TestServer } from '../support/server';
import { get } from '../support/server';
import { appointment, binary, choice, communication, documentReference, immunization, observation, practitioner, roleResources } from '../access/builders';

const INS = 'urn:oid:1.2.250.1.213.1.4.8';
const MTH = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] };

/** The directory and shared data every space points to: a GP (médecin) with an active role, a practitioner without authorization, their organization, a place. */
export const SHARED = { gp: 'sp-gp', stranger: 'sp-stranger', organization: 'sp-org', location: 'sp-loc' };

export async function seedDirectory(server: TestServer): Promise<void> {
  await server.put({ resourceType: 'Organization', id: SHARED.organization, name: 'Cabinet' } as Resource);
  await server.put({ resourceType: 'Location', id: SHARED.location, name: 'Salle 1' } as Resource);
  for (const id of [SHARED.gp, SHARED.stranger]) {
    await server.put({ resourceType: 'Practitioner', id, name: [{ family: id }] } as Resource);
    for (const role of roleResources(practitioner(id, ['10'], { organization: SHARED.organization }))) await server.put(role);
  }
}

export interface Space {
  patientId: string;
  representativeId: string;
  /** Every id of X's data (records and contents), for a search of the tables. */
  ids: string[];
  documents: { visible: string; hidden: string; forRepresentativesHidden: string };
  binaries: { linked: string; earlier: string; patientContext: string; documentContext: string };
}

let nirs = 0;

/** Builds the space `tag` (ids `${tag}-…`); `sharedBinary`, when given, is linked by one of its documents too. */
export async function seedSpace(server: TestServer, tag: string, sharedBinary?: string): Promise<Space> {
  const x = `${tag}-pat`;
  const gp = `Practitioner/${SHARED.gp}`;
  const id = (name: string) => `${tag}-${name}`;
  const put = (resource: Resource, by = `client:test-operator`) => server.put(resource, by);
  nirs++;
  await put({
    resourceType: 'Patient',
    id: x,
    identifier: [{ system: INS, value: `2150175${String(10000000 + nirs).slice(1)}` }],
    name: [{ family: tag }],
    birthDate: '2015-03-01',
    telecom: [{ system: 'email', value: `${tag}@example.org` }],
  } as Resource);
  await put({ resourceType: 'RelatedPerson', id: id('rep'), patient: { reference: `Patient/${x}` }, relationship: [MTH], name: [{ family: tag }] } as Resource);
  await put(choice('authorize', x, { id: id('authorize'), actors: [gp] }));
  await put(binary(id('bin-linked')), gp);
  await put(binary(id('bin-earlier')), gp);
  await put(binary(id('bin-now')), gp);
  await put(documentReference(id('doc'), x, { binary: id('bin-linked'), authors: [gp] }), gp);
  await put(documentReference(id('doc-hidden'), x, { binary: id('bin-earlier'), authors: [gp] }), gp);
  await put(documentReference(id('doc-hidden'), x, { binary: id('bin-now'), authors: [gp] }), gp); // v2: bin-earlier is only in v1
  await put(choice('hide-document', x, { id: id('hide'), documents: [id('doc-hidden')] }));
  await put(documentReference(id('doc-minor'), x, { labels: ['INVISIBLE_REPRESENTANTS_LEGAUX'], authors: [gp] }), gp);
  if (sharedBinary) await put(documentReference(id('doc-shared'), x, { binary: sharedBinary, authors: [gp] }), gp);
  await put(binary(id('bin-ctx'), `Patient/${x}`), gp);
  await put(binary(id('bin-docctx'), `DocumentReference/${id('doc')}`), gp);
  await put(immunization(id('imm'), x, gp), gp);
  await put(observation(id('obs'), x));
  await put({ ...observation(id('obs'), x), performer: [{ reference: `Organization/${SHARED.organization}` }] } as Resource);
  await put(observation(id('obs-gone'), x));
  await server.remove('Observation', id('obs-gone'));
  const appt = appointment(id('appt'), x, [gp]) as Resource & { participant: object[] };
  await put({ ...appt, participant: [...appt.participant, { actor: { reference: `Location/${SHARED.location}` }, status: 'accepted' }] } as Resource);
  await put(communication(id('comm'), x, gp), gp);
  await activity(server, x, id('rep'), id('doc'), id('bin-linked'));
  const ids = ['pat', 'rep', 'authorize', 'hide', 'doc', 'doc-hidden', 'doc-minor', 'imm', 'obs', 'obs-gone', 'appt', 'comm', 'bin-linked', 'bin-earlier', 'bin-now', 'bin-ctx', 'bin-docctx'].map(id);
  if (sharedBinary) ids.push(id('doc-shared'));
  return {
    patientId: x,
    representativeId: id('rep'),
    ids,
    documents: { visible: id('doc'), hidden: id('doc-hidden'), forRepresentativesHidden: id('doc-minor') },
    binaries: { linked: id('bin-linked'), earlier: id('bin-earlier'), patientContext: id('bin-ctx'), documentContext: id('bin-docctx') },
  };
}

/** The GP reads (audited, mailed to X), a practitioner X never authorized is refused, the representative reads the history. */
async function activity(server: TestServer, x: string, representative: string, document: string, binaryId: string): Promise<void> {
  const gp = await server.practitionerToken(SHARED.gp);
  for (const path of [`Patient/${x}`, `Observation?patient=${x}`, `DocumentReference/${document}`, `Binary/${binaryId}`, `Immunization?patient=${x}`]) {
    expect((await get(server, path, gp)).status).toBe(200);
  }
  expect((await get(server, `DocumentReference?patient=${x}`, await server.practitionerToken(SHARED.stranger))).status).toBe(403);
  expect((await get(server, `AuditEvent?patient=${x}`, await representativeToken(server, representative))).status).toBe(200);
}

export const representativeToken = (server: TestServer, relatedPersonId: string) => server.token({ fhirUser: `RelatedPerson/${relatedPersonId}`, scope: 'patient/*.*' });
