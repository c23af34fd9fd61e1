/**
 * The CapabilityStatement tells the truth: every interaction, search
 * parameter, `_include`/`_revinclude`, patch format and operation it claims
 * for every type is exercised against the running server, and a claim the
 * server does not honour (405, an unknown route's 404, a 400 under
 * `Prefer: handling=strict`) fails. What it must no longer claim is checked too.
 *
 * @slow — about half a minute
 */
import type { CapabilityStatement, CapabilityStatementRestResource, Resource } from 'fhir/r4';
import { get, startTestServer, type TestServer } from '../support/server';

const CLIENT = 'client:truth-client';
const STRICT = 'handling=strict';
const SUBJECT = 'truth-subject';
let server: TestServer;
let op: string;
let statement: CapabilityStatement;
let resources: CapabilityStatementRestResource[];

beforeAll(async () => {
  server = await startTestServer();
  op = await server.systemToken('truth-client');
  statement = (await server.request.get('/fhir/metadata')).body as CapabilityStatement;
  resources = statement.rest?.[0].resource ?? [];
  await server.put({ resourceType: 'Patient', id: SUBJECT } as Resource, CLIENT); // the patient of AuditEvent searches and operations
}, 120_000);
afterAll(async () => server?.close());

const call = (method: 'get' | 'post' | 'put' | 'patch' | 'delete', url: string, body?: unknown, contentType = 'application/fhir+json', token = op) => {
  const req = server.request[method](`/fhir/${url}`).set('Authorization', `Bearer ${token}`).set('Prefer', STRICT);
  return body === undefined ? req : req.set('Content-Type', contentType).send(JSON.stringify(body));
};
const seededId = (type: string) => `truth-${type.toLowerCase()}`;
const claimed = (type: string, code: string) => resources.find((r) => r.type === type)?.interaction?.some((i) => i.code === code) ?? false;

/** A sample value each search parameter type accepts. */
function sampleValue(param: { name: string; type?: string }): string {
  switch (param.type) {
    case 'string':
      return 'a';
    case 'token':
      return 'x';
    case 'reference':
      return 'x';
    case 'date':
      return '2020';
    case 'number':
    case 'quantity':
      return '1';
    case 'uri':
      return 'http://example.org/x';
    default:
      return 'x';
  }
}

/** AuditEvent's coded parameters take the codes of their value sets. */
const AUDIT_SAMPLES: Record<string, string> = { action: 'R', outcome: '0', patient: `Patient/${SUBJECT}` };

/** A refusal that says the interaction is not served (as opposed to an access or validation refusal). */
const NOT_SERVED = [405, 501];

describe('every claimed interaction of every type', () => {
  it('claims conformance types read-only, AuditEvent read-only and no R4B type', () => {
    expect(resources.find((r) => r.type === 'StructureDefinition')?.interaction?.map((i) => i.code)).toEqual(['read', 'search-type']);
    expect(resources.find((r) => r.type === 'AuditEvent')?.interaction?.map((i) => i.code)).toEqual(['read', 'vread', 'history-instance', 'search-type']);
    expect(resources.map((r) => r.type)).not.toContain('SubscriptionStatus');
    expect(statement.patchFormat).toEqual(expect.arrayContaining(['application/json-patch+json', 'application/fhir+json']));
  });

  it('answers the claimed interactions of every type (no 405, no unknown route)', async () => {
    const failures: string[] = [];
    for (const entry of resources) {
      const type = entry.type;
      const id = seededId(type);
      const conformance = claimed(type, 'read') && !claimed(type, 'vread');
      if (!conformance && type !== 'AuditEvent') await server.put({ resourceType: type, id } as Resource, CLIENT);
      const readId = conformance || type === 'AuditEvent' ? undefined : id;
      for (const interaction of entry.interaction ?? []) {
        const res = await exercise(type, interaction.code, readId, conformance);
        if (res === undefined) continue;
        if (NOT_SERVED.includes(res.status) || res.status >= 500 || (res.expect200 && res.status !== 200)) failures.push(`${type} ${interaction.code}: ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);
});

async function exercise(type: string, code: string, id: string | undefined, conformance: boolean): Promise<{ status: number; expect200: boolean } | undefined> {
  const status = async (req: PromiseLike<{ status: number }>, expect200 = false) => ({ status: (await req).status, expect200 });
  switch (code) {
    case 'read':
      if (conformance) return status(call('get', `${type}?_count=1`)); // the read of a served id follows in the catalogue test
      return id ? status(call('get', `${type}/${id}`), true) : undefined;
    case 'vread':
      return id ? status(call('get', `${type}/${id}/_history/1`), true) : undefined;
    case 'history-instance':
      return id ? status(call('get', `${type}/${id}/_history`), true) : undefined;
    case 'history-type':
      return status(call('get', `${type}/_history`), true);
    case 'search-type':
      if (type === 'AuditEvent') return status(call('get', `AuditEvent?patient=Patient/${SUBJECT}`, undefined, undefined, await server.patientToken(SUBJECT)), true);
      return status(call('get', `${type}?_count=1`), true);
    case 'create':
      return status(call('post', type, { resourceType: type }));
    case 'update':
      return status(call('put', `${type}/${id}`, { resourceType: type, id }));
    case 'patch':
      return status(call('patch', `${type}/${id}`, [{ op: 'add', path: '/language', value: 'fr' }], 'application/json-patch+json'));
    case 'delete':
      return status(call('delete', `${type}/${id}`));
    default:
      return { status: 501, expect200: false };
  }
}

describe('every claimed search parameter, include and revinclude', () => {
  it('compiles every claimed parameter under Prefer: handling=strict', async () => {
    const failures: string[] = [];
    for (const entry of resources) {
      for (const param of entry.searchParam ?? []) {
        const value = AUDIT_SAMPLES[param.name] ?? sampleValue(param);
        // the activity history is read by its patient only (CONTRACT §6)
        const [scope, token] = entry.type === 'AuditEvent' ? [`&patient=Patient/${SUBJECT}`, await server.patientToken(SUBJECT)] : ['', op];
        const res = await call('get', `${entry.type}?${encodeURIComponent(param.name)}=${encodeURIComponent(value)}&_count=1${scope}`, undefined, undefined, token);
        if (res.status !== 200) failures.push(`${entry.type}?${param.name}=${value}: ${res.status} ${JSON.stringify(res.body?.issue?.[0]?.diagnostics ?? '')}`);
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  // About 12,000 claims (every reference parameter is a _revinclude of each type it targets): a search
  // follows them 40 at a time, and a group answered other than 200 is asked again one claim at a time.
  it('follows every claimed _include and _revinclude under Prefer: handling=strict', async () => {
    const failures: string[] = [];
    const search = (type: string, name: string, values: string[]) =>
      call('get', `${type}?${values.map((value) => `${name}=${encodeURIComponent(value)}`).join('&')}&_count=1`);
    for (const entry of resources) {
      for (const [name, values] of [['_include', entry.searchInclude ?? []], ['_revinclude', entry.searchRevInclude ?? []]] as const) {
        for (let at = 0; at < values.length; at += 40) {
          const group = values.slice(at, at + 40);
          if ((await search(entry.type, name, group)).status === 200) continue;
          for (const value of group) {
            const res = await search(entry.type, name, [value]);
            if (res.status !== 200) failures.push(`${entry.type}?${name}=${value}: ${res.status}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('claims _include for Observation:subject and _revinclude of Observation:subject on Patient', () => {
    expect(resources.find((r) => r.type === 'Observation')?.searchInclude).toContain('Observation:subject');
    expect(resources.find((r) => r.type === 'Patient')?.searchRevInclude).toContain('Observation:subject');
  });

  it.each([
    ['Patient', 'text search', ['_text', '_content', '_query']],
    ['Location', 'near', ['near']],
    ['Observation', 'composite', ['code-value-quantity', 'combo-code-value-quantity']],
  ])('does not claim what the engine ignores (%s %s)', (type, _what, codes) => {
    const names = (resources.find((r) => r.type === type)?.searchParam ?? []).map((p) => p.name);
    for (const code of codes) expect(names).not.toContain(code);
    expect(resources.flatMap((r) => r.searchParam ?? []).filter((p) => p.type === 'composite' || p.type === 'special')).toEqual([]);
  });
});

describe('every claimed operation and patch format', () => {
  it('serves every operation claimed per type (no 405, no unknown route)', async () => {
    const failures: string[] = [];
    for (const entry of resources) {
      for (const operation of entry.operation ?? []) {
        const id = SUBJECT;
        let res: { status: number };
        if (operation.name === 'validate') res = await call('post', `${entry.type}/$validate`, { resourceType: entry.type });
        else if (operation.name === 'everything') res = await call('get', `${entry.type}/${id}/$everything`);
        else if (operation.name === 'verify-audit') res = await get(server, `Patient/${id}/$verify-audit`, await server.patientToken(id));
        else if (operation.name === 'access') {
          // who can see the subject's document, asked by the subject: a Parameters naming it
          await server.put({ resourceType: 'DocumentReference', id: 'truth-access', status: 'current', subject: { reference: `Patient/${id}` }, content: [{ attachment: { contentType: 'text/plain' } }] } as Resource, CLIENT);
          res = await get(server, `${entry.type}/truth-access/$access`, await server.patientToken(id));
          if (res.status !== 200 || (res as { body?: Resource }).body?.resourceType !== 'Parameters') failures.push(`${entry.type} $access: ${res.status}`);
        }
        else if (operation.name === 'meta') {
          // instance: the subject's meta, and for other types the read's 404 of an id never written (routed, not 405/400)
          res = await call('get', entry.type === 'Patient' ? `Patient/${id}/$meta` : `${entry.type}/never-written/$meta`);
          if (res.status !== (entry.type === 'Patient' ? 200 : 404)) failures.push(`${entry.type} $meta: ${res.status}`);
          // type level (Resource-meta is also a type operation): the union in use, a Parameters `return`
          // (AuditEvent: the activity history's reader, as its search; its events carry no profile, tag or label)
          const union = await call('get', `${entry.type}/$meta`, undefined, undefined, entry.type === 'AuditEvent' ? await server.patientToken(SUBJECT) : op);
          if (union.status !== 200 || union.body?.parameter?.[0]?.name !== 'return') failures.push(`${entry.type}/$meta: ${union.status}`);
        }
        else if (operation.name === 'meta-add' || operation.name === 'meta-delete') {
          // the subject's meta changed in place (its creator updates it), elsewhere the 404 of an id never written (routed, stored, not 405/400)
          const body = { resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: { tag: [{ system: 'http://example.org/truth', code: 'claimed' }] } }] };
          res = await call('post', entry.type === 'Patient' ? `Patient/${id}/$${operation.name}` : `${entry.type}/never-written/$${operation.name}`, body);
          if (res.status !== (entry.type === 'Patient' ? 200 : 404)) failures.push(`${entry.type} $${operation.name}: ${res.status}`);
        }
        else res = await call('get', `${entry.type}/$${operation.name}`);
        if (res.status === 405 || res.status >= 500 || (['validate', 'everything', 'verify-audit'].includes(operation.name) && res.status !== 200)) {
          failures.push(`${entry.type} $${operation.name}: ${res.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('serves every operation claimed at system level', async () => {
    const operations = statement.rest?.[0].operation ?? [];
    expect(operations.map((o) => o.name)).toContain('meta');
    const failures: string[] = [];
    for (const operation of operations) {
      const res = operation.name === 'meta' ? await call('get', '$meta') : { status: 501 }; // a claim this test does not know how to exercise fails
      if (res.status !== 200) failures.push(`$${operation.name}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });

  it('claims $meta-add and $meta-delete on the types clients write only', () => {
    const typesOf = (name: string) => resources.filter((r) => r.operation?.some((o) => o.name === name)).map((r) => r.type);
    for (const name of ['meta-add', 'meta-delete']) {
      expect(typesOf(name)).toEqual(expect.arrayContaining(['Patient', 'Observation', 'DocumentReference']));
      expect(typesOf(name)).not.toEqual(expect.arrayContaining(['AuditEvent']));
      expect(typesOf(name).filter((type) => ['StructureDefinition', 'CodeSystem', 'ValueSet'].includes(type))).toEqual([]);
    }
  });

  it('serves the compartment it claims: Patient/X/[type] and Patient/X/*', async () => {
    expect(statement.rest?.[0].compartment).toEqual(['http://hl7.org/fhir/CompartmentDefinition/patient']);
    for (const url of [`Patient/${SUBJECT}/Observation`, `Patient/${SUBJECT}/*`]) expect((await call('get', url)).status).toBe(200);
  });

  it('resolves every operation definition it names that is its own', async () => {
    const own = (resources.flatMap((r) => r.operation ?? []).map((o) => o.definition)).filter((url) => !url.startsWith('http://hl7.org/'));
    for (const url of new Set(own)) {
      const res = await call('get', `OperationDefinition?url=${encodeURIComponent(url)}`);
      expect(res.body.total).toBe(1);
    }
  });

  it('serves every supportedProfile it names, of its type, and validates against it', async () => {
    const claims = resources.flatMap((r) => (r.supportedProfile ?? []).map((url) => ({ type: r.type, url })));
    expect(claims.map((claim) => claim.url)).toEqual(expect.arrayContaining([
      'https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference',
      'https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Minimal.SubmissionSet',
      'https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-document-reference',
    ]));
    for (const { type, url } of claims) {
      const found = await call('get', `StructureDefinition?url=${encodeURIComponent(url)}`);
      expect([url, found.body.total, found.body.entry?.[0]?.resource?.type]).toEqual([url, 1, type]);
      // $validate with the profile applies it: an empty resource of the type fails a profile that requires anything, never 4xx for the profile itself
      const checked = await call('post', `${type}/$validate?profile=${encodeURIComponent(url)}`, { resourceType: type });
      expect([url, checked.status]).toEqual([url, expect.any(Number)]);
      expect(JSON.stringify(checked.body)).not.toMatch(/is not known to this server/);
    }
  });

  it('applies a FHIRPath Patch (application/fhir+json Parameters)', async () => {
    await server.put({ resourceType: 'Basic', id: 'fhirpath-patch', code: { text: 'x' } } as Resource, CLIENT);
    const patch = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'add' }, { name: 'path', valueString: 'Basic' }, { name: 'name', valueString: 'language' }, { name: 'value', valueCode: 'fr' }] }] };
    const res = await call('patch', 'Basic/fhirpath-patch', patch);
    expect([res.status, res.body.language]).toEqual([200, 'fr']);
  });
});

describe('what is not claimed is refused', () => {
  it.each([
    ['POST', 'AuditEvent', 405],
    ['POST', 'SubscriptionStatus', 404],
    ['POST', 'CodeSystem', 405],
  ])('%s %s answers %i', async (_method, type, expected) => {
    expect((await call('post', type, { resourceType: type, status: 'active' })).status).toBe(expected);
  });
});
