/**
 * Scopes cap every interaction that names no type (CONTRACT §3): system
 * history, system search (GET and POST `_search`), `$everything`, and the same
 * as batch entries. For each scope shape, what comes back is what the caller
 * sees with all scopes of its context, cut down to the types its scopes read —
 * the rest is absent, as if it did not exist, totals included.
 */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import type supertest from 'supertest';
import { binary, choice, documentReference, observation, patientResource, practitioner, roleResources } from './builders';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';
import { postBundle } from '../bundle/fixtures';

const gp = practitioner('gp', ['10'], { organization: 'clinic' });
const LOCATION = { resourceType: 'Location', id: 'ward', name: 'Ward' } as Resource;

type Kind = 'patient' | 'practitioner' | 'system';
/** The scopes of each kind's context that read every type. */
const FULL: Record<Kind, string> = { patient: 'patient/*.*', practitioner: 'user/*.*', system: 'system/*.*' };

/** [caller kind, scope claim, the types it reads ('*' for all)]. */
const SHAPES: Array<[Kind, string, '*' | string[]]> = [
  ['patient', 'patient/*.read', '*'],
  ['patient', 'patient/*.rs', '*'],
  ['patient', 'patient/*.cruds', '*'],
  ['patient', 'patient/*.r', '*'],
  ['patient', 'patient/*.write', []],
  ['patient', 'patient/*.cud', []],
  ['patient', 'patient/Observation.read', ['Observation']],
  ['patient', 'patient/Observation.rs patient/Patient.r', ['Observation', 'Patient']],
  ['patient', 'patient/DocumentReference.s patient/Binary.read', ['Binary', 'DocumentReference']],
  ['patient', 'patient/Observation.* patient/Consent.write', ['Observation']],
  ['patient', 'patient/Observation.rs?category=laboratory', []],
  ['patient', 'user/*.*', []],
  ['patient', 'system/*.*', []],
  ['practitioner', 'user/*.cruds', '*'],
  ['practitioner', 'user/*.read', '*'],
  ['practitioner', 'user/Observation.read', ['Observation']],
  ['practitioner', 'user/Practitioner.rs user/Organization.r user/Patient.r', ['Organization', 'Patient', 'Practitioner']],
  ['practitioner', 'system/*.*', []],
  ['practitioner', 'patient/*.*', []],
  ['system', 'system/*.read', '*'],
  ['system', 'system/*.cruds', '*'],
  ['system', 'system/Observation.*', ['Observation']],
  ['system', 'system/Observation.cruds system/Patient.rs', ['Observation', 'Patient']],
  ['system', 'system/*.write', []],
  ['system', 'system/*.write user/*.* patient/*.*', []],
];

interface Answer {
  status: number;
  types: string[];
  total?: number;
  matches: number;
}

const typeOf = (entry: BundleEntry) => entry.resource?.resourceType ?? entry.request?.url.split('/')[0] ?? '?';

function answerOf(status: number, bundle: Bundle | undefined): Answer {
  const entries = (bundle?.entry ?? []).filter((entry) => entry.search?.mode !== 'outcome');
  return {
    status,
    types: [...new Set(entries.map(typeOf))].sort(),
    total: bundle?.total,
    matches: entries.filter((entry) => entry.search?.mode !== 'include').length,
  };
}

type Form = 'alone' | 'as a batch entry' | 'as a transaction entry';

/** The interactions naming no type; each alone and, the GET ones, as a batch and a transaction entry. */
const INTERACTIONS: Record<string, { url: string; post?: string }> = {
  'system history': { url: '_history?_count=1000' },
  'system search': { url: '?_count=1000&_total=accurate' },
  'POST _search': { url: '_search', post: '_count=1000&_total=accurate' },
  $everything: { url: 'Patient/px/$everything?_count=1000' },
};

describe('scopes cap every interaction naming no type', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();

  async function tokenOf(kind: Kind, scope: string): Promise<string> {
    const key = `${kind} ${scope}`;
    if (!tokens.has(key)) {
      const token = kind === 'patient' ? await server.patientToken('px', scope) : kind === 'practitioner' ? await server.practitionerToken('gp', scope) : await server.systemToken('lab', scope);
      tokens.set(key, token);
    }
    return tokens.get(key) as string;
  }

  async function ask(kind: Kind, scope: string, interaction: string, form: Form): Promise<Answer> {
    const token = await tokenOf(kind, scope);
    const { url, post } = INTERACTIONS[interaction];
    if (form !== 'alone') {
      const type = form === 'as a batch entry' ? 'batch' : 'transaction';
      const res = await postBundle(server, token, { resourceType: 'Bundle', type, entry: [{ request: { method: 'GET', url } }] });
      if (form === 'as a transaction entry' && res.status !== 200) return answerOf(res.status, undefined); // a failed entry fails the transaction
      expect(res.status).toBe(200);
      const entry = (res.body as Bundle).entry?.[0];
      return answerOf(Number(entry?.response?.status.split(' ')[0]), entry?.resource as Bundle | undefined);
    }
    let req: supertest.Test;
    if (post) req = server.request.post(`/fhir/${url}`).set('Content-Type', 'application/x-www-form-urlencoded').send(post);
    else req = server.request.get(`/fhir/${url}`);
    const res = await req.set('Authorization', `Bearer ${token}`).set('Accept', FHIR_JSON);
    return answerOf(res.status, res.status === 200 ? (res.body as Bundle) : undefined);
  }

  beforeAll(async () => {
    server = await startTestServer();
    const op = 'client:op';
    const lab = 'client:lab';
    await server.put({ resourceType: 'Organization', id: 'clinic', name: 'Clinique' } as Resource, op);
    await server.put({ resourceType: 'Practitioner', id: 'gp', name: [{ family: 'Généraliste' }] } as Resource, op);
    for (const role of roleResources(gp)) await server.put(role, op);
    await server.put(LOCATION, op);
    for (const id of ['px', 'py']) await server.put(patientResource(id), lab);
    await server.put(observation('x-obs', 'px'), lab);
    await server.put(observation('y-obs', 'py'), lab);
    await server.put(documentReference('x-doc', 'px', { binary: 'x-bin' }), lab);
    await server.put(binary('x-bin'), lab);
    await server.put(choice('authorize', 'px', { id: 'x-auth-gp', actors: ['Practitioner/gp'] }), 'Patient/px');
  });
  afterAll(() => server.close());

  // What each kind sees with all its scopes: wide enough that every cut below removes something real.
  it.each<[Kind, string, string[]]>([
    ['patient', 'system search', ['Binary', 'Consent', 'DocumentReference', 'Location', 'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole']],
    ['practitioner', 'system search', ['Binary', 'DocumentReference', 'Location', 'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole']],
    ['system', 'system search', ['Binary', 'DocumentReference', 'Location', 'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole']],
    ['patient', 'system history', ['Binary', 'Consent', 'DocumentReference', 'Location', 'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole']],
    ['patient', '$everything', ['Consent', 'DocumentReference', 'Observation', 'Patient', 'Practitioner']],
  ])('%s with all scopes, %s: %j', async (kind, interaction, types) => {
    expect((await ask(kind, FULL[kind], interaction, 'alone')).types).toEqual(types);
  });

  const cases = SHAPES.flatMap(([kind, scope, reads]) =>
    Object.entries(INTERACTIONS).flatMap(([interaction, { post }]) =>
      (post ? (['alone'] as const) : (['alone', 'as a batch entry', 'as a transaction entry'] as const)).map((form) => [kind, scope, interaction, form, reads] as const),
    ),
  );

  it.each(cases)('%s holding %p: %s (%s) returns only the types it reads', async (kind, scope, interaction, form, reads) => {
    const full = await ask(kind, FULL[kind], interaction, form);
    const scoped = await ask(kind, scope, interaction, form);
    const readsType = (type: string) => reads === '*' || reads.includes(type);
    if (interaction === '$everything' && !readsType('Patient')) {
      expect(scoped.status).toBe(403); // $everything reads Patient/px: outside the scopes
      return;
    }
    expect(scoped.status).toBe(200);
    expect(scoped.types).toEqual(full.types.filter(readsType));
    if (scoped.total !== undefined) expect(scoped.total).toBe(scoped.matches);
  });

  it.each<[string, string, string, number, string[]]>([
    ['an _include/_revinclude of a type outside the scopes is absent', 'patient/Patient.read patient/Observation.read', 'Patient?_id=px&_revinclude=Observation:subject&_revinclude=DocumentReference:subject&_revinclude=Consent:patient', 200, ['Observation', 'Patient']],
    ['the same with every type readable', 'patient/*.read', 'Patient?_id=px&_revinclude=Observation:subject&_revinclude=DocumentReference:subject&_revinclude=Consent:patient', 200, ['Consent', 'DocumentReference', 'Observation', 'Patient']],
    ['a chain into a type outside the scopes matches nothing', 'patient/Observation.read', 'Observation?subject:Patient.name=px', 200, []],
    ['_type naming only readable types', 'patient/Observation.read patient/Patient.read', '?_type=Observation,Patient', 200, ['Observation', 'Patient']],
    ['_type naming a type outside the scopes', 'patient/Observation.read', '?_type=Observation,DocumentReference', 403, []],
  ])('%s', async (_name, scope, url, status, types) => {
    const res = await server.request.get(`/fhir/${url}`).set('Authorization', `Bearer ${await tokenOf('patient', scope)}`);
    expect(res.status).toBe(status);
    if (status === 200) expect(answerOf(res.status, res.body as Bundle).types).toEqual(types);
  });
});
