/**
 * CONTRACT §7, the patient's door: from the instant patient X closes their
 * space nobody reaches X's data, on any path, with tokens issued before.
 *
 * Two servers built alike. On `open`, X's space is filled (X, a guardian, an
 * authorization, a document and its Binary, an Observation, an Appointment,
 * AuditEvents of accesses) and then closed — the `closed_spaces` row written
 * straight with SQL, as the closure writes it, after every token was minted.
 * On `never`, X never existed. Both hold the same other data: practitioners,
 * patient Y who authorizes the GP, and Y's List naming X's resources.
 * Every caller × path answers on `open` exactly as on `never` (status,
 * total, entries and their served copies, OperationOutcome text); and before
 * the closure, the same requests reached X's data where the rules let them
 * (the table of reach), so the comparison is not one of two empty answers.
 * The representative's twin on `never` is made by hand: a RelatedPerson of
 * a patient who never existed cannot be stored without being that patient's data.
 */
import type { Bundle, OperationOutcome, Resource } from 'fhir/r4';
import { FhirError, toOperationOutcome } from '../../src/kernel/errors';
import { parseQueryString } from '../../src/kernel/query-string';
import type { Caller } from '../../src/kernel/caller';
import type { Method } from '../../src/kernel/request';
import { parseScopes } from '../../src/identity/scopes';
import { appointment, binary, choice, documentReference, observation, practitioner, roleResources } from './builders';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';

const X = 'closedp';
const Y = 'cs-y';
const INS = 'urn:oid:1.2.250.1.213.1.4.8';
const NIR = '180017512345678';
const GUARDIAN = 'closedp-rep';
const ENV = { AUDIT_VERIFIERS: 'hospital' };

type Who = 'X' | 'representative' | 'GP authorized (TREAT)' | 'SAMU (ETREAT)' | 'break-glass (BTG)' | 'creating system client' | 'operator';
const WHO: Who[] = ['X', 'representative', 'GP authorized (TREAT)', 'SAMU (ETREAT)', 'break-glass (BTG)', 'creating system client', 'operator'];

const CLAIMS: Record<Who, { sub: string; fhirUser?: string; scope: string }> = {
  X: { sub: 'patient-closedp', fhirUser: `Patient/${X}`, scope: 'patient/*.*' },
  representative: { sub: 'guardian', fhirUser: `RelatedPerson/${GUARDIAN}`, scope: 'patient/*.*' },
  'GP authorized (TREAT)': { sub: 'prac-cs-gp', fhirUser: 'Practitioner/cs-gp', scope: 'user/*.*' },
  'SAMU (ETREAT)': { sub: 'prac-cs-samu', fhirUser: 'Practitioner/cs-samu', scope: 'user/*.*' },
  'break-glass (BTG)': { sub: 'prac-cs-doc', fhirUser: 'Practitioner/cs-doc', scope: 'user/*.*' },
  'creating system client': { sub: 'hospital', scope: 'system/*.read system/DocumentReference.write system/Binary.write system/Observation.write' },
  operator: { sub: 'cs-operator', scope: 'system/*.*' },
};
const MODE: Partial<Record<Who, Record<string, string>>> = {
  'SAMU (ETREAT)': { 'x-purpose-of-use': 'ETREAT' },
  'break-glass (BTG)': { 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': 'patient inconscient' },
};
/** On `never`: the guardian of a patient who never existed, as identification would make it. */
const NEVER_GUARDIAN: Caller = { kind: 'related-person', sub: 'guardian', scopes: parseScopes('patient/*.*'), relatedPersonId: GUARDIAN, patientId: X };

interface Req {
  method: Method;
  url: string;
  body?: Resource;
}
const get = (url: string): Req => ({ method: 'GET', url });

/** A DocumentReference about X as each caller would submit it (a practitioner as its author). */
function submission(who: Who): Resource {
  const { id: _id, ...document } = documentReference('unused', X, { authors: CLAIMS[who].fhirUser?.startsWith('Practitioner/') ? [CLAIMS[who].fhirUser as string] : [] });
  return document as Resource;
}

type Path =
  | 'read Patient'
  | 'read document'
  | 'read Binary'
  | 'read RelatedPerson'
  | 'vread'
  | 'search by patient'
  | 'search by _id'
  | '_include'
  | '_revinclude'
  | 'chained search'
  | '_has'
  | 'type history'
  | 'system history'
  | 'instance history'
  | '$everything'
  | 'transaction entry read'
  | 'INS-NIR resolution'
  | 'activity history'
  | '$verify-audit'
  | 'served List'
  | 'PUT to X’s document'
  | 'submission for X'
  | 'Binary for X’s document';

const PATHS: Record<Path, (who: Who) => Req> = {
  'read Patient': () => get(`Patient/${X}`),
  'read document': () => get(`DocumentReference/${X}-doc`),
  'read Binary': () => get(`Binary/${X}-bin`),
  'read RelatedPerson': () => get(`RelatedPerson/${GUARDIAN}`),
  vread: () => get(`DocumentReference/${X}-doc/_history/1`),
  'search by patient': () => get(`DocumentReference?patient=${X}&_total=accurate`),
  'search by _id': () => get(`Observation?_id=${X}-obs,${Y}-obs&_total=accurate`),
  _include: () => get(`List?_id=${Y}-list&_include=List:item&_total=accurate`),
  _revinclude: () => get('Practitioner?_id=cs-gp&_revinclude=DocumentReference:author&_total=accurate'),
  'chained search': () => get(`DocumentReference?subject:Patient.family=${encodeURIComponent('Fermé')}&_total=accurate`),
  _has: () => get('Patient?_has:DocumentReference:subject:author=Practitioner/cs-gp&_total=accurate'),
  'type history': () => get('DocumentReference/_history'),
  'system history': () => get('_history'),
  'instance history': () => get(`DocumentReference/${X}-doc/_history`),
  $everything: () => get(`Patient/${X}/$everything`),
  'transaction entry read': () => ({ method: 'POST', url: '', body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: `DocumentReference/${X}-doc` } }] } as Resource }),
  'INS-NIR resolution': () => get(`Patient?identifier=${encodeURIComponent(`${INS}|${NIR}`)}`), // the exact form a resolver uses
  'activity history': () => get(`AuditEvent?patient=Patient/${X}&_total=accurate`),
  '$verify-audit': () => get(`Patient/${X}/$verify-audit`),
  'served List': () => get(`List/${Y}-list`),
  'PUT to X’s document': () => ({ method: 'PUT', url: `DocumentReference/${X}-doc`, body: documentReference(`${X}-doc`, X, { authors: ['Practitioner/cs-gp'], type: '11502-2' }) }),
  'submission for X': (who) => ({ method: 'POST', url: 'DocumentReference', body: submission(who) }),
  'Binary for X’s document': () => ({ method: 'POST', url: 'Binary', body: { ...binary('unused', `DocumentReference/${X}-doc`), id: undefined } }),
};
const ALL_PATHS = Object.keys(PATHS) as Path[];
/** Paths that write: asked only after the closure (before it, they would change what the others answer). */
const WRITES: Path[] = ['PUT to X’s document', 'submission for X', 'Binary for X’s document'];

/** Before the closure, what each caller reached of X: the paths whose answer differed from the one about a patient who never existed. */
const EVERY_READ = ALL_PATHS.filter((path) => !WRITES.includes(path));
const PRACTITIONER_REACH = EVERY_READ.filter((path) => path !== 'activity history' && path !== '$verify-audit');
const REACH: Record<Who, Path[]> = {
  X: EVERY_READ.filter((path) => path !== '_include' && path !== 'served List'),
  representative: EVERY_READ.filter((path) => path !== '_include' && path !== 'served List'),
  'GP authorized (TREAT)': PRACTITIONER_REACH,
  'SAMU (ETREAT)': PRACTITIONER_REACH,
  'break-glass (BTG)': PRACTITIONER_REACH,
  'creating system client': EVERY_READ.filter((path) => path !== 'search by _id' && path !== 'activity history'),
  operator: ['search by _id', 'system history', 'INS-NIR resolution'],
};

/** What a user of the answer notices: status, total, entries (with their served copies), the OperationOutcome's words, the resource served. */
interface Digest {
  status: number;
  total?: number;
  entries?: string[];
  outcome?: string[];
  served?: string;
}

/** JSON with sorted keys (the database's jsonb and a handler's object order them differently). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}
const withoutMeta = (resource: Resource | undefined) => (resource ? canonical({ ...resource, meta: undefined }) : '');
const words = (outcome: OperationOutcome) => (outcome.issue ?? []).map((issue) => `${issue.severity} ${issue.code} ${issue.diagnostics} ${(issue.expression ?? []).join(',')}`);

function digest(status: number, body: unknown): Digest {
  const resource = body as Resource | undefined;
  if (resource?.resourceType === 'OperationOutcome') return { status, outcome: words(resource as OperationOutcome) };
  if (resource?.resourceType !== 'Bundle') return { status, served: withoutMeta(resource) };
  const bundle = resource as Bundle;
  const entries = (bundle.entry ?? []).map((entry) =>
    [entry.fullUrl ?? '', entry.search?.mode ?? '', entry.response?.status ?? '', ...(entry.response?.outcome ? words(entry.response.outcome as OperationOutcome) : []), withoutMeta(entry.resource)].join(' '),
  );
  return { status, total: bundle.total, entries };
}

interface Side {
  server: TestServer;
  tokens: Map<Who, string>;
  /** A caller made by hand, asked through the pipeline (no token can name it). */
  byHand: Map<Who, Caller>;
}

async function answer(side: Side, who: Who, path: Path): Promise<Digest> {
  const req = PATHS[path](who);
  const headers: Record<string, string> = { accept: FHIR_JSON, ...(req.body ? { 'content-type': FHIR_JSON } : {}), ...MODE[who] };
  const caller = side.byHand.get(who);
  if (caller) {
    const [pathPart, query = ''] = req.url.split('?');
    try {
      const response = await side.server.carnet.pipeline.handle({ method: req.method, path: pathPart, query: parseQueryString(query), body: req.body, headers }, caller);
      return digest(response.status, response.body);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return digest(error.status, toOperationOutcome(error.issues));
    }
  }
  let request = side.server.request[req.method === 'GET' ? 'get' : req.method === 'PUT' ? 'put' : 'post'](`/fhir/${req.url}`).set('Authorization', `Bearer ${side.tokens.get(who)}`);
  for (const [name, value] of Object.entries(headers)) request = request.set(name, value);
  const response = await (req.body ? request.send(JSON.stringify(req.body)) : request);
  return digest(response.status, response.body);
}

/** What both servers hold: practitioners, patient Y (who authorizes the GP), Y's List naming X's resources. */
async function seedCommon(server: TestServer): Promise<void> {
  await server.put({ resourceType: 'Practitioner', id: 'cs-gp', name: [{ family: 'Généraliste' }] } as Resource);
  for (const role of roleResources(practitioner('cs-gp', ['10']))) await server.put(role);
  for (const role of roleResources(practitioner('cs-samu', ['10'], { samu: true }))) await server.put(role);
  for (const role of roleResources(practitioner('cs-doc', ['10']))) await server.put(role);
  await server.put({ resourceType: 'Patient', id: Y, name: [{ family: 'Ouvert' }] } as Resource, 'client:hospital');
  await server.put(choice('authorize', Y, { id: `${Y}-auth`, actors: ['Practitioner/cs-gp'] }), `Patient/${Y}`);
  await server.put(observation(`${Y}-obs`, Y), 'client:hospital');
  const items = [`Patient/${X}`, `DocumentReference/${X}-doc`, `Observation/${X}-obs`, `Observation/${Y}-obs`];
  await server.put({ resourceType: 'List', id: `${Y}-list`, status: 'current', mode: 'working', subject: { reference: `Patient/${Y}` }, entry: items.map((reference) => ({ item: { reference } })) } as Resource, 'client:hospital');
}

/** X's space, on `open` only. */
async function seedX(server: TestServer): Promise<void> {
  await server.put({ resourceType: 'Patient', id: X, identifier: [{ system: INS, value: NIR }], name: [{ family: 'Fermé' }], birthDate: '2012-03-04' } as Resource, 'client:hospital');
  const guardian = { resourceType: 'RelatedPerson', id: GUARDIAN, patient: { reference: `Patient/${X}` }, relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'GUARD' }] }] };
  await server.put(guardian as Resource, 'client:hospital');
  await server.put(choice('authorize', X, { id: `${X}-auth`, actors: ['Practitioner/cs-gp'] }), `Patient/${X}`);
  await server.put(binary(`${X}-bin`), 'client:hospital');
  await server.put(documentReference(`${X}-doc`, X, { authors: ['Practitioner/cs-gp'], binary: `${X}-bin` }), 'client:hospital');
  await server.put(observation(`${X}-obs`, X), 'client:cs-operator');
  await server.put(appointment(`${X}-appt`, X, ['Practitioner/cs-gp']), 'client:hospital');
}

async function side(server: TestServer, byHand: Map<Who, Caller> = new Map()): Promise<Side> {
  const tokens = new Map<Who, string>();
  for (const who of WHO) if (!byHand.has(who)) tokens.set(who, await server.token(CLAIMS[who]));
  return { server, tokens, byHand };
}

const key = (who: Who, path: Path) => `${who} × ${path}`;

describe('a closed space is nobody’s to reach (CONTRACT §7)', () => {
  let open: Side;
  let never: Side;
  const before = new Map<string, Digest>();

  beforeAll(async () => {
    const [a, b] = [await startTestServer(ENV), await startTestServer(ENV)];
    await seedCommon(a);
    await seedCommon(b);
    await seedX(a);
    open = await side(a); // every token minted before the closure
    never = await side(b, new Map([['representative', NEVER_GUARDIAN]]));
    await answer(open, 'GP authorized (TREAT)', 'read document'); // an access in X's activity history
    for (const who of WHO) for (const path of EVERY_READ) before.set(key(who, path), await answer(open, who, path));
    await a.carnet.sql.query('INSERT INTO closed_spaces (patient_id, closed_at) VALUES (?, now())', [X]);
  }, 180_000);
  afterAll(async () => {
    await open?.server.close();
    await never?.server.close();
  });

  it.each(WHO)('before the closure, %s reached X’s data through the paths the rules open', async (who) => {
    const reached: Path[] = [];
    for (const path of EVERY_READ) if (JSON.stringify(before.get(key(who, path))) !== JSON.stringify(await answer(never, who, path))) reached.push(path);
    expect(reached).toEqual(REACH[who]);
  });

  const cases = WHO.flatMap((who) => ALL_PATHS.map((path): [Who, Path] => [who, path]));
  it.each(cases)('%s × %s: answered as about a patient who never existed', async (who, path) => {
    expect(await answer(open, who, path)).toEqual(await answer(never, who, path));
  });
});
