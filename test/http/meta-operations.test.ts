/**
 * `$meta`, `$meta-add` and `$meta-delete` as a FHIR client meets them (issue 13,
 * resource-operations.html#meta, #meta-add, #meta-delete): profiles, tags and
 * security labels added and deleted as sets, in place (the version and the
 * history unchanged), found by `_tag` at once; the rights of an update (a
 * hidden resource answers as one that does not exist, a reader who may not
 * write gets the update's refusal); bad input 400; meaningful labels 422;
 * type and system `$meta` the union over the rows the caller may read only.
 */
import type { AuditEvent, Bundle, Coding, Meta, OperationOutcome, Parameters, Resource } from 'fhir/r4';
import { get, send, startTestServer, type TestServer } from '../support/server';

const TAGS = 'http://example.org/fhir/tags';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const A07 = 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument';
const TREG15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
const CARNET_PATIENT = 'https://carnet.example.org/fhir/StructureDefinition/carnet-patient';
const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const OTHER_PROFILE = 'http://example.org/fhir/StructureDefinition/observation-x';

const tag = (code: string, display?: string): Coding => ({ system: TAGS, code, ...(display ? { display } : {}) });
const label = (code: string): Coding => ({ system: CONFIDENTIALITY, code });
const metaParameters = (meta: unknown) => ({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: meta }] });
const returned = (body: Parameters): Meta => body.parameter?.find((p) => p.name === 'return')?.valueMeta ?? {};
const keys = (codings: Coding[] | undefined) => (codings ?? []).map((c) => `${c.system}|${c.code}`);
/** An OperationOutcome with the ids of the request replaced, to compare a hidden resource's answer with a missing one's. */
const outcomeOf = (body: OperationOutcome, ...ids: string[]) => ids.reduce((text, id) => text.split(id).join('<id>'), JSON.stringify(body));

describe('$meta, $meta-add and $meta-delete', () => {
  let server: TestServer;
  let op: string;
  let alice: string;
  let bob: string;
  let bobObs: string;
  const tokens: Record<string, string> = {};

  const post = (url: string, body: unknown, token = op) => send(server, 'post', url, token, body);
  const observation = async (patient: string, meta?: Meta, token = op): Promise<string> => {
    const res = await post('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'glycémie' }, subject: { reference: `Patient/${patient}` }, ...(meta ? { meta } : {}) }, token);
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const historyOf = async (url: string) => ((await get(server, `${url}/_history`, op)).body as Bundle).entry?.map((e) => e.resource as Resource) ?? [];

  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('meta-lab', 'system/*.*');
    alice = (await post('Patient', { resourceType: 'Patient', name: [{ family: 'Alice' }] })).body.id;
    bob = (await post('Patient', { resourceType: 'Patient', name: [{ family: 'Bob' }] })).body.id;
    bobObs = await observation(bob, { tag: [tag('bob-only')] });
    // Practitioner p-meta: an active role (médecin) and bob's authorization; alice authorized nobody
    expect((await send(server, 'put', 'PractitionerRole/r-meta', op, { resourceType: 'PractitionerRole', id: 'r-meta', active: true, practitioner: { reference: 'Practitioner/p-meta' }, code: [{ coding: [{ system: TREG15, code: '10' }] }] })).status).toBe(201);
    tokens.bob = await server.patientToken(bob);
    const consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }, { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'authorize' }] }],
      patient: { reference: `Patient/${bob}` },
      dateTime: '2026-11-26T10:00:00Z',
      performer: [{ reference: `Patient/${bob}` }],
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
      provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'Practitioner/p-meta' } }] },
    };
    expect((await post('Consent', consent, tokens.bob)).status).toBe(201);
    tokens.lab = op;
    tokens.otherLab = await server.systemToken('meta-other-lab', 'system/Observation.cruds system/Patient.cruds');
    tokens.alice = await server.patientToken(alice);
    tokens.aliceReadOnly = await server.patientToken(alice, 'patient/*.read');
    tokens.practitioner = await server.practitionerToken('p-meta');
  }, 120_000);
  afterAll(() => server?.close());

  describe('profiles, tags and security labels are sets, changed in place', () => {
    it.each<[string, Meta | undefined, 'add' | 'delete', Meta, Partial<Record<'tag' | 'security' | 'profile', string[]>>]>([
      ['adds a tag', undefined, 'add', { tag: [tag('a')] }, { tag: [`${TAGS}|a`] }],
      ['adds a tag already there (another display): no duplicate', { tag: [tag('a', 'A')] }, 'add', { tag: [tag('a', 'autre')] }, { tag: [`${TAGS}|a`] }],
      ['adds the same tag twice in one call: one', undefined, 'add', { tag: [tag('a'), tag('a')] }, { tag: [`${TAGS}|a`] }],
      ['adds a second tag after the first', { tag: [tag('a')] }, 'add', { tag: [tag('b')] }, { tag: [`${TAGS}|a`, `${TAGS}|b`] }],
      ['deletes a tag whatever its display', { tag: [tag('a', 'A'), tag('b')] }, 'delete', { tag: [tag('a', 'other display')] }, { tag: [`${TAGS}|b`] }],
      ['deletes a tag that is absent: no error', { tag: [tag('b')] }, 'delete', { tag: [tag('zz')] }, { tag: [`${TAGS}|b`] }],
      ['deletes the last tag', { tag: [tag('a')] }, 'delete', { tag: [tag('a')] }, { tag: [] }],
      ['adds a security label', undefined, 'add', { security: [label('R')] }, { security: [`${CONFIDENTIALITY}|R`] }],
      ['adds a security label already there', { security: [label('R')] }, 'add', { security: [label('R')] }, { security: [`${CONFIDENTIALITY}|R`] }],
      ['deletes a security label', { security: [label('R'), label('N')] }, 'delete', { security: [label('R')] }, { security: [`${CONFIDENTIALITY}|N`] }],
      ['adds a profile (by URL)', undefined, 'add', { profile: [OTHER_PROFILE] }, { profile: [OTHER_PROFILE] }],
      ['adds a profile already claimed', { profile: [OTHER_PROFILE] }, 'add', { profile: [OTHER_PROFILE] }, { profile: [OTHER_PROFILE] }],
      ['deletes a profile', { profile: [OTHER_PROFILE] }, 'delete', { profile: [OTHER_PROFILE] }, { profile: [] }],
      ['adds all three at once', undefined, 'add', { tag: [tag('a')], security: [label('R')], profile: [OTHER_PROFILE] }, { tag: [`${TAGS}|a`], security: [`${CONFIDENTIALITY}|R`], profile: [OTHER_PROFILE] }],
    ])('%s', async (_name, initial, mode, input, expected) => {
      const id = await observation(alice, initial);
      const before = (await get(server, `Observation/${id}`, op)).body as Resource;
      const res = await post(`Observation/${id}/$meta-${mode}`, metaParameters(input));
      expect(res.status).toBe(200);
      const meta = returned(res.body);
      const after = (await get(server, `Observation/${id}`, op)).body as Resource;
      for (const [element, values] of Object.entries(expected)) {
        const got = element === 'profile' ? (meta.profile ?? []) : keys(meta[element as 'tag' | 'security']);
        expect(got).toEqual(values);
        expect(element === 'profile' ? (after.meta?.profile ?? []) : keys(after.meta?.[element as 'tag' | 'security'])).toEqual(values);
      }
      // in place: the same version, the same instant, one version in the history
      expect([after.meta?.versionId, after.meta?.lastUpdated, meta.versionId]).toEqual([before.meta?.versionId, before.meta?.lastUpdated, before.meta?.versionId]);
      const history = await historyOf(`Observation/${id}`);
      expect(history.map((v) => v.meta?.versionId)).toEqual(['1']);
      expect(history[0].meta).toEqual(after.meta);
      expect(after.meta).toEqual(meta);
    });
  });

  describe('search follows at once', () => {
    it.each([
      ['_tag', (code: string) => ({ tag: [tag(code)] }), (code: string) => `_tag=${encodeURIComponent(`${TAGS}|${code}`)}`],
      ['_security', (code: string) => ({ security: [{ system: CONFIDENTIALITY, code }] }), (code: string) => `_security=${encodeURIComponent(`${CONFIDENTIALITY}|${code}`)}`],
      ['_profile', (code: string) => ({ profile: [`http://example.org/fhir/StructureDefinition/${code}`] }), (code: string) => `_profile=${encodeURIComponent(`http://example.org/fhir/StructureDefinition/${code}`)}`],
    ])('%s finds it after $meta-add, not after $meta-delete', async (_param, meta, query) => {
      const code = `s${Math.random().toString(36).slice(2, 10)}`;
      const id = await observation(alice);
      const ids = async () => (((await get(server, `Observation?${query(code)}`, op)).body as Bundle).entry ?? []).map((e) => e.resource?.id);
      expect(await ids()).toEqual([]);
      expect((await post(`Observation/${id}/$meta-add`, metaParameters(meta(code)))).status).toBe(200);
      expect(await ids()).toEqual([id]);
      expect((await post(`Observation/${id}/$meta-delete`, metaParameters(meta(code)))).status).toBe(200);
      expect(await ids()).toEqual([]);
    });
  });

  describe('on a version of the history', () => {
    it('changes that version only, in place; the current one and the search stay as they were', async () => {
      const id = await observation(alice);
      expect((await send(server, 'put', `Observation/${id}`, op, { resourceType: 'Observation', id, status: 'amended', code: { text: 'glycémie' }, subject: { reference: `Patient/${alice}` } })).status).toBe(200);
      const res = await post(`Observation/${id}/_history/1/$meta-add`, metaParameters({ tag: [tag('old-version')] }));
      expect(res.status).toBe(200);
      expect([returned(res.body).versionId, keys(returned(res.body).tag)]).toEqual(['1', [`${TAGS}|old-version`]]);
      expect(keys(((await get(server, `Observation/${id}/_history/1`, op)).body as Resource).meta?.tag)).toEqual([`${TAGS}|old-version`]);
      const current = (await get(server, `Observation/${id}`, op)).body as Resource;
      expect([current.meta?.versionId, current.meta?.tag]).toEqual(['2', undefined]);
      expect((await historyOf(`Observation/${id}`)).map((v) => v.meta?.versionId)).toEqual(['2', '1']);
      expect(((await get(server, `Observation?_tag=${encodeURIComponent(`${TAGS}|old-version`)}`, op)).body as Bundle).total).toBe(0);
      const removed = await post(`Observation/${id}/_history/1/$meta-delete`, metaParameters({ tag: [tag('old-version')] }));
      expect([removed.status, returned(removed.body).tag]).toEqual([200, undefined]);
    });

    it('is 404 for a version that does not exist, as vread', async () => {
      const id = await observation(alice);
      const res = await post(`Observation/${id}/_history/7/$meta-add`, metaParameters({ tag: [tag('a')] }));
      expect([res.status, (await get(server, `Observation/${id}/_history/7`, op)).status]).toEqual([404, 404]);
    });
  });

  describe('profiles are checked', () => {
    it.each([
      ['a Patient without INS-NIR does not meet carnet-patient', 422, {}],
      ['a Patient with an INS-NIR meets it', 200, { identifier: [{ system: NIR, value: '255081416802538' }] }],
    ])('%s → %i', async (_name, status, extra) => {
      const id = (await post('Patient', { resourceType: 'Patient', name: [{ family: 'Profil' }], ...extra })).body.id;
      const res = await post(`Patient/${id}/$meta-add`, metaParameters({ profile: [CARNET_PATIENT] }));
      expect(res.status).toBe(status);
      const stored = (await get(server, `Patient/${id}`, op)).body as Resource;
      expect(stored.meta?.profile ?? []).toEqual(status === 200 ? [CARNET_PATIENT] : []);
    });
  });

  describe('the rights of an update', () => {
    it.each([
      ['another client (it did not create it)', 'otherLab'],
      ['a practitioner authorized by another patient', 'practitioner'],
      ['another patient', 'bob'],
    ])('a resource hidden from %s answers as one that does not exist', async (_name, who) => {
      const id = await observation(alice, { tag: [tag('kept')] });
      for (const mode of ['add', 'delete']) {
        const hidden = await post(`Observation/${id}/$meta-${mode}`, metaParameters({ tag: [tag('kept')] }), tokens[who]);
        const missing = await post(`Observation/never-${id}/$meta-${mode}`, metaParameters({ tag: [tag('kept')] }), tokens[who]);
        expect([hidden.status, outcomeOf(hidden.body, id)]).toEqual([404, outcomeOf(missing.body, `never-${id}`)]);
      }
      expect(keys(((await get(server, `Observation/${id}`, op)).body as Resource).meta?.tag)).toEqual([`${TAGS}|kept`]);
    });

    it.each([
      ['a patient with read-only scopes', 'aliceReadOnly', () => alice],
      ['the patient, on an Observation a client recorded', 'alice', () => alice],
      ['an authorized practitioner, on an Observation a client recorded', 'practitioner', () => bob],
    ])('%s: what it can read answers as its update does', async (_name, who, patient) => {
      const id = await observation(patient());
      expect((await get(server, `Observation/${id}`, tokens[who])).status).toBe(200);
      const update = await send(server, 'put', `Observation/${id}`, tokens[who], { resourceType: 'Observation', id, status: 'final', code: { text: 'glycémie' }, subject: { reference: `Patient/${patient()}` }, meta: { tag: [tag('by-update')] } });
      const add = await post(`Observation/${id}/$meta-add`, metaParameters({ tag: [tag('by-meta-add')] }), tokens[who]);
      expect(add.status).toBe(update.status === 201 ? 200 : update.status);
      if (update.status >= 400) expect(add.body.issue?.[0]?.code).toBe(update.body.issue?.[0]?.code);
      const tags = keys(((await get(server, `Observation/${id}`, op)).body as Resource).meta?.tag);
      expect(tags.includes(`${TAGS}|by-meta-add`)).toBe(add.status === 200);
    });

    it('a deleted resource answers 410, as its read', async () => {
      const id = await observation(alice);
      expect((await server.request.delete(`/fhir/Observation/${id}`).set('Authorization', `Bearer ${op}`)).status).toBe(204);
      for (const url of [`Observation/${id}`, `Observation/${id}/_history/1`]) {
        for (const mode of ['add', 'delete']) expect((await post(`${url}/$meta-${mode}`, metaParameters({ tag: [tag('a')] }))).status).toBe(410);
      }
      expect((await get(server, `Observation/${id}`, op)).status).toBe(410);
    });

    it('a practitioner the patient blocked gets the 403 an update gets; an id that does not exist stays 404', async () => {
      expect((await send(server, 'put', 'PractitionerRole/r-blocked', op, { resourceType: 'PractitionerRole', id: 'r-blocked', active: true, practitioner: { reference: 'Practitioner/p-blocked' }, code: [{ coding: [{ system: TREG15, code: '10' }] }] })).status).toBe(201);
      const block = {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }, { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'block' }] }],
        patient: { reference: `Patient/${bob}` },
        dateTime: '2026-11-26T10:00:00Z',
        performer: [{ reference: `Patient/${bob}` }],
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
        provision: { type: 'deny', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'Practitioner/p-blocked' } }] },
      };
      expect((await post('Consent', block, tokens.bob)).status).toBe(201);
      const blocked = await server.practitionerToken('p-blocked');
      const update = await send(server, 'put', `Observation/${bobObs}`, blocked, { resourceType: 'Observation', id: bobObs, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${bob}` } });
      const add = await post(`Observation/${bobObs}/$meta-add`, metaParameters({ tag: [tag('by-blocked')] }), blocked);
      const missing = await post('Observation/never-written/$meta-add', metaParameters({ tag: [tag('by-blocked')] }), blocked);
      expect([update.status, add.status, missing.status]).toEqual([403, 403, 404]);
    });
  });

  describe('audited as a write of the patient\'s data', () => {
    const operationsOn = async (patient: string, reference: string) => {
      const bundle = (await get(server, `AuditEvent?patient=Patient/${patient}&_count=100`, await server.patientToken(patient))).body as Bundle;
      return (bundle.entry ?? []).map((e) => e.resource as AuditEvent).filter((event) => event.subtype?.some((s) => s.code === 'operation') && event.entity?.some((entity) => entity.what?.reference?.startsWith(reference)));
    };
    it.each([
      ['the creator\'s $meta-add: the version it changed, outcome 0', 'lab', () => alice, '0', '/_history/1'],
      ['a refused $meta-add (an authorized practitioner who did not record it): outcome 4', 'practitioner', () => bob, '4', ''],
    ])('%s', async (_name, who, patient, outcome, version) => {
      const id = await observation(patient());
      await post(`Observation/${id}/$meta-add`, metaParameters({ tag: [tag('audited')] }), tokens[who]);
      const events = await operationsOn(patient(), `Observation/${id}`);
      expect(events.map((event) => event.outcome)).toEqual([outcome]);
      expect(events[0].entity?.map((entity) => entity.what?.reference)).toEqual(expect.arrayContaining([`Patient/${patient()}`, `Observation/${id}${version}`]));
    });
  });

  describe('bad input', () => {
    it.each<[string, number, unknown, string | undefined]>([
      ['a resource that is not a Parameters', 400, { resourceType: 'Observation', status: 'final' }, 'Parameters'],
      ['no meta parameter', 400, { resourceType: 'Parameters', parameter: [] }, 'Parameters.parameter'],
      ['no parameter at all', 400, { resourceType: 'Parameters' }, 'Parameters.parameter'],
      ['meta as a string', 400, { resourceType: 'Parameters', parameter: [{ name: 'meta', valueString: 'x' }] }, 'Parameters.parameter[0].valueMeta'],
      ['two meta parameters', 400, { resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: {} }, { name: 'meta', valueMeta: {} }] }, 'Parameters.parameter[1]'],
      ['an unknown parameter', 400, { resourceType: 'Parameters', parameter: [{ name: 'resource', valueMeta: {} }] }, 'Parameters.parameter[0].name'],
      ['parameter not an array', 400, { resourceType: 'Parameters', parameter: { name: 'meta' } }, 'Parameters.parameter'],
      ['profile not an array', 400, metaParameters({ profile: OTHER_PROFILE }), 'Parameters.parameter[0].valueMeta.profile'],
      ['a profile that is a number', 400, metaParameters({ profile: [42] }), 'Parameters.parameter[0].valueMeta.profile[0]'],
      ['a tag that is a string', 400, metaParameters({ tag: ['a'] }), 'Parameters.parameter[0].valueMeta.tag[0]'],
      ['a tag whose code is a number', 400, metaParameters({ tag: [{ system: TAGS, code: 1 }] }), 'Parameters.parameter[0].valueMeta.tag[0].code'],
      ['a tag without code', 400, metaParameters({ tag: [{ system: TAGS }] }), 'Parameters.parameter[0].valueMeta.tag[0].code'],
      ['a label with an unknown element', 400, metaParameters({ security: [{ system: CONFIDENTIALITY, code: 'R', colour: 'red' }] }), 'Parameters.parameter[0].valueMeta.security[0].colour'],
      ['a JSON array', 400, [metaParameters({ tag: [tag('a')] })], undefined],
      ['SUBSETTED added (a served subset is never stored)', 422, metaParameters({ tag: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' }] }), 'Parameters.parameter[0].valueMeta.tag[0]'],
      ['a TRE_A07 visibility label (the access rules own it)', 422, metaParameters({ security: [label('N'), { system: A07, code: 'MASQUE_PS' }] }), 'Parameters.parameter[0].valueMeta.security[1]'],
    ])('%s → %i', async (_name, status, body, expression) => {
      const id = await observation(alice, { tag: [tag('untouched')] });
      const res = await post(`Observation/${id}/$meta-add`, body);
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      if (expression) expect(res.body.issue[0].expression).toEqual([expression]);
      expect(((await get(server, `Observation/${id}`, op)).body as Resource).meta?.tag).toEqual([tag('untouched')]);
    });

    it('refuses a TRE_A07 label on $meta-delete too, and any write on a read-only type', async () => {
      const id = await observation(alice);
      expect((await post(`Observation/${id}/$meta-delete`, metaParameters({ security: [{ system: A07, code: 'INVISIBLE_PATIENT' }] }))).status).toBe(422);
      expect((await post('StructureDefinition/carnet-patient/$meta-add', metaParameters({ tag: [tag('a')] }))).status).toBe(405);
      expect((await post(`Observation/${id}/_history/0/$meta-add`, metaParameters({ tag: [tag('a')] }))).status).toBe(400);
    });
  });

  describe('$meta at type and system level: only what the caller may read', () => {
    const hasTag = (meta: Meta, code: string) => keys(meta.tag).includes(`${TAGS}|${code}`);
    it.each([
      ['GET', 'Observation/$meta'],
      ['POST', 'Observation/$meta'],
      ['GET', '$meta'],
      ['POST', '$meta'],
    ])('%s %s: a tag used only by a hidden resource is absent; the answer is the same as before it existed', async (method, url) => {
      const code = `hidden-${Math.random().toString(36).slice(2, 10)}`;
      const ask = async (token: string) => {
        const req = method === 'GET' ? get(server, url, token) : post(url, { resourceType: 'Parameters' }, token);
        const res = await req;
        expect(res.status).toBe(200);
        return returned(res.body);
      };
      const bobBefore = await ask(tokens.bob);
      expect(hasTag(bobBefore, 'bob-only')).toBe(true); // the caller's own rows are there
      const id = await observation(alice, { tag: [tag(code)], security: [label('V')], profile: [`http://example.org/fhir/StructureDefinition/${code}`] });
      expect(hasTag(await ask(op), code)).toBe(true); // its creator reads it: the tag is in use
      expect(await ask(tokens.bob)).toEqual(bobBefore); // hidden = nonexistent: nothing differs
      expect(hasTag(await ask(tokens.alice), code)).toBe(true);
      expect((await post(`Observation/${id}/$meta-delete`, metaParameters({ tag: [tag(code)] }))).status).toBe(200);
      expect(hasTag(await ask(op), code)).toBe(false); // deleted from the only resource using it: no longer in use
    });

    it('leaves out deleted resources, and answers every type (an empty Meta when none is in use)', async () => {
      const code = `gone-${Math.random().toString(36).slice(2, 10)}`;
      const id = await observation(alice, { tag: [tag(code)] });
      expect(hasTag(returned((await get(server, 'Observation/$meta', op)).body), code)).toBe(true);
      await server.request.delete(`/fhir/Observation/${id}`).set('Authorization', `Bearer ${op}`);
      expect(hasTag(returned((await get(server, 'Observation/$meta', op)).body), code)).toBe(false);
      const empty = await get(server, 'Medication/$meta', op);
      expect([empty.status, returned(empty.body)]).toEqual([200, {}]);
      expect((await get(server, 'NotAType/$meta', op)).status).toBe(404);
    });

    it('is refused outside the scopes of the type (403), as its search', async () => {
      const token = await server.systemToken('meta-patients-only', 'system/Patient.rs');
      expect([(await get(server, 'Observation/$meta', token)).status, (await get(server, 'Observation', token)).status]).toEqual([403, 403]);
      expect(hasTag(returned((await get(server, '$meta', token)).body), 'bob-only')).toBe(false);
    });

    it('the practitioner bob authorized sees bob\'s tags; alice, who cannot read them, does not', async () => {
      expect(hasTag(returned((await get(server, 'Observation/$meta', tokens.practitioner)).body), 'bob-only')).toBe(true);
      expect(hasTag(returned((await get(server, 'Observation/$meta', tokens.alice)).body), 'bob-only')).toBe(false);
      expect((await get(server, `Observation/${bobObs}`, tokens.alice)).status).toBe(404);
    });
  });
});
