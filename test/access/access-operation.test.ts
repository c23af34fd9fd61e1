/**
 * `DocumentReference/{id}/$access` (CONTRACT §10): who can see this document,
 * and why — over a world like the README walk-through's, through HTTP:
 * - Léa (a minor; her mother represents her) authorized her GP, a
 *   physiotherapist she then blocked, a pharmacist, a doctor she hid her
 *   summary from, the psychiatrist who wrote her hidden report and her
 *   administrator; an emergency physician broke the glass and a SAMU
 *   regulator read her space in ETREAT (both listed because they accessed);
 * - Bob hid everything and refused break-glass; Chloé allowed hidden
 *   documents in an emergency and authorized a doctor who no longer holds an
 *   active role;
 * then: each verdict and its reasons in TREAT, ETREAT and BTG as a table;
 * who is listed and why; each listed practitioner's verdict agrees with what
 * their own token gets from a read; the representative gets the same
 * answer; everyone else the contract's 403/404 (a document they may not see
 * answers exactly as one never written); French and English words; the
 * audit; and every reason decide() can give a document has a code and words.
 */
import type { Parameters as FhirParameters, ParametersParameter, Resource } from 'fhir/r4';
import { choice, documentReference, TREG15, practitioner, type ChoiceOptions } from './builders';
import type { ConsentKind } from '../../src/access/vocabulary';
import { get, startTestServer, type TestServer } from '../support/server';
import { BLOCKED, CLOSED_SPACE, decide, NO_ACTIVE_ROLE, type AccessWorld } from '../../src/access/decision';
import { ACCESS_REASON_CODES, LANGUAGES, REASON_CODES, reasonCodeOf, wordsFor, type AccessReasonCode } from '../../src/access/explanation';
import { AuthorizationGrid } from '../../src/access/grid';
import type { ConsentRule, RowFacts } from '../../src/access/facts';

const HOSPITAL = 'client:hospital';
const SAMU = { coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/role', code: 'samu-regulator' }] };

/** [id, name, profession, samu-regulator, active] */
const PRACTITIONERS: Array<[string, string, string, boolean, boolean]> = [
  ['dr-martin', 'Martin', '10', false, true],
  ['kine-durand', 'Durand', '70', false, true],
  ['pharma-leroy', 'Leroy', '21', false, true],
  ['dr-hidden', 'Caché', '10', false, true],
  ['dr-psy', 'Freud', '10', false, true],
  ['dr-admin', 'Admin', '10', false, true],
  ['dr-urgences', 'Urgences', '10', false, true],
  ['dr-samu', 'Régulateur', '10', true, true],
  ['dr-never', 'Jamais', '10', false, true],
  ['dr-retired', 'Retraité', '10', false, false],
  ['ide-clinic', 'Clinique', '60', false, true],
  ['dr-secret', 'Secret', '10', false, true],
];

interface Verdict {
  canSee: boolean;
  reasons: string[];
  texts: string[];
}
interface Professional extends Verdict {
  practitioner: string;
  display?: string;
  professions: string[];
  accessed: boolean;
  choices: string[];
  ETREAT: Verdict;
  BTG: Verdict;
}

const part = (parts: ParametersParameter[] | undefined, name: string) => (parts ?? []).filter((p) => p.name === name);
function verdictOf(parts: ParametersParameter[]): Verdict {
  const reasons = part(parts, 'reason').map((reason) => reason.part ?? []);
  return {
    canSee: part(parts, 'canSee')[0]?.valueBoolean as boolean,
    reasons: reasons.map((r) => part(r, 'code')[0]?.valueCode as string),
    texts: reasons.map((r) => part(r, 'text')[0]?.valueString as string),
  };
}
/** The answer as a map from practitioner id to what it says of them. */
function professionals(body: FhirParameters): Map<string, Professional> {
  const found = new Map<string, Professional>();
  for (const professional of part(body.parameter, 'professional')) {
    const parts = professional.part ?? [];
    const reference = part(parts, 'practitioner')[0]?.valueReference;
    const emergency = Object.fromEntries(part(parts, 'emergency').map((e) => [part(e.part, 'mode')[0]?.valueCode, verdictOf(e.part ?? [])]));
    const id = String(reference?.reference).replace('Practitioner/', '');
    found.set(id, {
      practitioner: reference?.reference as string,
      display: reference?.display,
      professions: part(parts, 'profession').map((p) => p.valueCoding?.code as string),
      accessed: part(parts, 'accessed')[0]?.valueBoolean as boolean,
      choices: part(parts, 'choice').map((p) => p.valueCode as string),
      ...verdictOf(parts),
      ETREAT: emergency.ETREAT,
      BTG: emergency.BTG,
    });
  }
  return found;
}

describe('$access: who can see this document, and why', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();
  const access = (token: string, document: string, query = '', headers: Record<string, string> = {}) => {
    const req = get(server, `DocumentReference/${document}/$access${query}`, token);
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    return req;
  };
  const answers = new Map<string, Map<string, Professional>>();
  const answerFor = async (document: string) => {
    if (!answers.has(document)) {
      const patientId = document.split('-')[0];
      const res = await access(tokens.get(patientId) as string, document);
      expect(res.status).toBe(200);
      answers.set(document, professionals(res.body as FhirParameters));
    }
    return answers.get(document) as Map<string, Professional>;
  };

  beforeAll(async () => {
    server = await startTestServer();
    await server.put({ resourceType: 'Organization', id: 'clinic', name: 'Clinique du Parc' } as Resource, 'client:directory');
    for (const [id, family, profession, samu, active] of PRACTITIONERS) {
      await server.put({ resourceType: 'Practitioner', id, name: [{ prefix: ['Dr'], family }] } as Resource, 'client:directory');
      const role = {
        resourceType: 'PractitionerRole',
        id: `role-${id}`,
        active,
        practitioner: { reference: `Practitioner/${id}` },
        ...(id === 'ide-clinic' ? { organization: { reference: 'Organization/clinic' } } : {}),
        code: [{ coding: [{ system: TREG15, code: profession }] }, ...(samu ? [SAMU] : [])],
      };
      await server.put(role as Resource, 'client:directory');
      tokens.set(id, await server.practitionerToken(id));
    }
    const born = `${new Date().getUTCFullYear() - 9}-03-01`;
    await server.put({ resourceType: 'Patient', id: 'lea', birthDate: born, name: [{ family: 'Petit', given: ['Léa'] }] } as Resource, 'client:op');
    await server.put({ resourceType: 'Patient', id: 'bob', name: [{ family: 'Bernard' }] } as Resource, 'client:op');
    await server.put({ resourceType: 'Patient', id: 'chloe', name: [{ family: 'Roux' }] } as Resource, 'client:op');
    await server.put(
      { resourceType: 'RelatedPerson', id: 'mother-lea', patient: { reference: 'Patient/lea' }, relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }] } as Resource,
      'client:op',
    );
    for (const id of ['lea', 'bob', 'chloe']) tokens.set(id, await server.patientToken(id));
    tokens.set('mother', await server.token({ sub: 'mother-lea', fhirUser: 'RelatedPerson/mother-lea', scope: 'patient/*.*' }));

    // documents: ids start with their patient's
    await server.put(documentReference('lea-summary', 'lea', { type: '34133-9' }), HOSPITAL);
    await server.put(documentReference('lea-psy', 'lea', { type: '68599-0', authors: ['Practitioner/dr-psy'] }), HOSPITAL);
    await server.put(documentReference('lea-secret', 'lea', { type: '11488-4', labels: ['INVISIBLE_PATIENT'], authors: ['Practitioner/dr-secret'] }), HOSPITAL);
    await server.put(documentReference('bob-report', 'bob', { type: '11488-4' }), HOSPITAL);
    await server.put(documentReference('chloe-masked', 'chloe', { type: '11488-4', labels: ['MASQUE_PS'] }), HOSPITAL);

    // the patients' choices
    const choose = (kind: ConsentKind, patientId: string, options: ChoiceOptions = {}) => server.put(choice(kind, patientId, options), `Patient/${patientId}`);
    for (const id of ['dr-martin', 'kine-durand', 'pharma-leroy', 'dr-hidden', 'dr-psy', 'dr-admin']) await choose('authorize', 'lea', { actors: [`Practitioner/${id}`] });
    await choose('authorize', 'lea', { actors: ['Organization/clinic'] });
    await choose('block', 'lea', { actors: ['Practitioner/kine-durand'] });
    await choose('hide-document', 'lea', { documents: ['lea-summary'], actors: ['Practitioner/dr-hidden'] });
    await choose('hide-document', 'lea', { documents: ['lea-psy'] });
    await choose('administrator', 'lea', { actors: ['Practitioner/dr-admin'] });
    for (const id of ['dr-martin', 'dr-admin']) await choose('authorize', 'bob', { actors: [`Practitioner/${id}`] });
    await choose('administrator', 'bob', { actors: ['Practitioner/dr-admin'] });
    await choose('hide-all', 'bob');
    await choose('emergency', 'bob', { purposes: ['BTG'], effect: 'deny' });
    await choose('emergency', 'chloe', { purposes: ['MASKED'], effect: 'permit' });
    await choose('authorize', 'chloe', { actors: ['Practitioner/dr-retired'] });

    // accesses, through the API (and so the activity history): break-glass and SAMU
    const btg = { 'X-Purpose-Of-Use': 'BTG', 'X-Break-Glass-Reason': 'patiente inconsciente' };
    for (const patientId of ['lea', 'chloe']) {
      const res = get(server, `Patient/${patientId}`, tokens.get('dr-urgences') as string);
      for (const [name, value] of Object.entries(btg)) res.set(name, value);
      expect((await res).status).toBe(200);
    }
    expect((await get(server, 'Patient/lea', tokens.get('dr-samu') as string).set('X-Purpose-Of-Use', 'ETREAT')).status).toBe(200);
    // the author of a document hidden from Léa reads it (his own, without authorization): an event Léa is not served
    expect((await get(server, 'DocumentReference/lea-secret', tokens.get('dr-secret') as string)).status).toBe(200);
  }, 120_000);
  afterAll(() => server.close());

  type V = [boolean, AccessReasonCode[]];
  const G: V = [true, ['grid']];
  it.each<[string, string, string, V, V, V]>([
    ['the GP she authorized: the grid allows his profession', 'lea-summary', 'dr-martin', G, [false, ['not-samu']], G],
    ['the physiotherapist she blocked, in every mode', 'lea-summary', 'kine-durand', [false, ['blocked']], [false, ['blocked']], [false, ['blocked']]],
    ['the pharmacist she authorized, for the summary', 'lea-summary', 'pharma-leroy', G, [false, ['not-samu']], G],
    ['the pharmacist, for a psychiatric report: the grid refuses his profession', 'lea-psy', 'pharma-leroy', [false, ['grid']], [false, ['not-samu']], [false, ['grid']]],
    ['the GP, for the report hidden from everyone', 'lea-psy', 'dr-martin', [false, ['hidden']], [false, ['not-samu']], [false, ['hidden']]],
    ['the doctor she hid her summary from', 'lea-summary', 'dr-hidden', [false, ['hidden']], [false, ['not-samu']], [false, ['hidden']]],
    ['the psychiatrist who wrote the hidden report', 'lea-psy', 'dr-psy', [true, ['author']], [false, ['not-samu']], [true, ['author']]],
    ['her administrator, for the hidden report', 'lea-psy', 'dr-admin', [true, ['administrator', 'grid']], [false, ['not-samu']], [true, ['administrator', 'grid']]],
    ['her administrator, for the summary (no hiding to lift)', 'lea-summary', 'dr-admin', G, [false, ['not-samu']], G],
    ['the emergency physician who broke the glass', 'lea-summary', 'dr-urgences', [false, ['not-authorized']], [false, ['not-samu']], G],
    ['the emergency physician, for the hidden report (MASKED off)', 'lea-psy', 'dr-urgences', [false, ['not-authorized']], [false, ['not-samu']], [false, ['hidden']]],
    ['the SAMU regulator who read her space', 'lea-summary', 'dr-samu', [false, ['not-authorized']], G, G],
    ['the GP, when everything is hidden and break-glass refused', 'bob-report', 'dr-martin', [false, ['hide-all']], [false, ['not-samu']], [false, ['emergency-refused']]],
    ['the administrator, when everything is hidden', 'bob-report', 'dr-admin', [true, ['administrator', 'grid']], [false, ['not-samu']], [false, ['emergency-refused']]],
    ['the emergency physician, for a MASQUE_PS document in a space allowing MASKED', 'chloe-masked', 'dr-urgences', [false, ['not-authorized']], [false, ['not-samu']], [true, ['masked', 'grid']]],
    ['a doctor she authorized who holds no active role', 'chloe-masked', 'dr-retired', [false, ['no-active-role']], [false, ['no-active-role']], [false, ['no-active-role']]],
  ])('%s', async (_name, document, practitionerId, treat, etreat, btg) => {
    const found = (await answerFor(document)).get(practitionerId);
    expect(found).toBeDefined();
    const shape = (v: Verdict) => [v.canSee, v.reasons];
    expect({ TREAT: shape(found as Professional), ETREAT: shape(found?.ETREAT as Verdict), BTG: shape(found?.BTG as Verdict) }).toEqual({ TREAT: treat, ETREAT: etreat, BTG: btg });
  });

  it.each<[string, string[], Record<string, { accessed: boolean; choices: string[] }>]>([
    [
      'lea-summary',
      ['dr-admin', 'dr-hidden', 'dr-martin', 'dr-psy', 'dr-samu', 'dr-urgences', 'ide-clinic', 'kine-durand', 'pharma-leroy'],
      {
        'dr-martin': { accessed: false, choices: ['authorize'] },
        'kine-durand': { accessed: false, choices: ['authorize', 'block'] },
        'dr-admin': { accessed: false, choices: ['authorize', 'administrator'] },
        'dr-urgences': { accessed: true, choices: [] },
        'dr-samu': { accessed: true, choices: [] },
        'ide-clinic': { accessed: false, choices: ['authorize'] }, // through the Organization of her active role
      },
    ],
    ['bob-report', ['dr-admin', 'dr-martin'], { 'dr-admin': { accessed: false, choices: ['authorize', 'administrator'] } }],
    ['chloe-masked', ['dr-retired', 'dr-urgences'], { 'dr-retired': { accessed: false, choices: ['authorize'] }, 'dr-urgences': { accessed: true, choices: [] } }],
  ])('%s lists who accessed the space or holds a choice, and why (never anyone else, nor an access the history hides from her)', async (document, listed, why) => {
    const found = await answerFor(document);
    expect([...found.keys()]).toEqual(listed);
    for (const [id, expected] of Object.entries(why)) expect({ accessed: found.get(id)?.accessed, choices: found.get(id)?.choices }).toEqual(expected);
  });

  it('names the practitioner and their profession as the directory does', async () => {
    const gp = (await answerFor('lea-summary')).get('dr-martin');
    expect([gp?.practitioner, gp?.display, gp?.professions]).toEqual(['Practitioner/dr-martin', 'Dr Martin', ['10']]);
  });

  it.each(['lea-summary', 'lea-psy', 'bob-report', 'chloe-masked'])("every listed practitioner's canSee is what their own token gets from a read of %s", async (document) => {
    for (const [id, professional] of await answerFor(document)) {
      const token = tokens.get(id) as string;
      const status = (await get(server, `DocumentReference/${document}`, token)).status;
      expect([id, status === 200]).toEqual([id, professional.canSee]);
      if (!professional.canSee) expect([id, status]).toEqual([id, professional.reasons.includes('blocked') ? 403 : 404]);
      const btg = (await get(server, `DocumentReference/${document}`, token).set('X-Purpose-Of-Use', 'BTG').set('X-Break-Glass-Reason', 'test')).status;
      expect([id, 'BTG', btg === 200]).toEqual([id, 'BTG', professional.BTG.canSee]);
      const etreat = (await get(server, `DocumentReference/${document}`, token).set('X-Purpose-Of-Use', 'ETREAT')).status;
      expect([id, 'ETREAT', etreat === 200]).toEqual([id, 'ETREAT', professional.ETREAT.canSee]);
    }
  });

  it('her legal representative gets the same answer (and is audited; Léa is not)', async () => {
    const audited = async (agent: string) => Number((await server.carnet.sql.query<{ n: string }>("SELECT count(*) AS n FROM audit_events WHERE agent = ? AND subtype = 'operation'", [agent])).rows[0].n);
    const [lea, mother] = [await audited('Patient/lea'), await audited('RelatedPerson/mother-lea')];
    const own = await access(tokens.get('lea') as string, 'lea-psy');
    const theirs = await access(tokens.get('mother') as string, 'lea-psy');
    expect([own.status, theirs.status]).toEqual([200, 200]);
    expect(theirs.body).toEqual(own.body);
    expect(await audited('Patient/lea')).toBe(lea);
    expect(await audited('RelatedPerson/mother-lea')).toBe(mother + 1);
  });

  const outcome = (res: { status: number; body: { issue?: Array<{ code?: string; diagnostics?: string; details?: { text?: string } }> } }, id: string) => ({
    status: res.status,
    issue: JSON.stringify(res.body.issue).split(id).join('<id>'),
  });

  it.each<[string, string, string, number]>([
    ['another patient', 'bob', 'lea-summary', 404],
    ['Léa, for a document of hers hidden from her (INVISIBLE_PATIENT)', 'lea', 'lea-secret', 404],
    ['the GP who may read the document', 'dr-martin', 'lea-summary', 403],
    ['the GP, a document hidden from him', 'dr-martin', 'lea-psy', 404],
    ['the physiotherapist she blocked', 'kine-durand', 'lea-summary', 403],
    ['a practitioner with no tie to her', 'dr-never', 'lea-summary', 404],
  ])('%s (%s on %s) → %i', async (_name, who, document, status) => {
    const res = await access(tokens.get(who) as string, document);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    if (status === 404) expect(outcome(res, document)).toEqual(outcome(await access(tokens.get(who) as string, 'never-written'), 'never-written'));
  });

  it('a system client that created the document → 403; a deleted document → 410', async () => {
    expect((await access(await server.systemToken('hospital'), 'lea-summary')).status).toBe(403);
    await server.put(documentReference('lea-old', 'lea', { type: '34133-9' }), HOSPITAL);
    await server.remove('DocumentReference', 'lea-old');
    expect((await access(tokens.get('lea') as string, 'lea-old')).status).toBe(410);
  });

  it.each<[string, string, Record<string, string>, string]>([
    ['French by default', '', {}, 'fr'],
    ['English with _lang=en', '?_lang=en', {}, 'en'],
    ['English with lang=en', '?lang=en', {}, 'en'],
    ['English with Accept-Language', '', { 'Accept-Language': 'en-GB,en;q=0.9,fr;q=0.5' }, 'en'],
    ['French when Accept-Language prefers it', '', { 'Accept-Language': 'de, fr;q=0.8, en;q=0.5' }, 'fr'],
    ['_lang wins over Accept-Language', '?_lang=fr', { 'Accept-Language': 'en' }, 'fr'],
  ])('words for a patient: %s', async (_name, query, headers, language) => {
    const res = await access(tokens.get('lea') as string, 'lea-summary', query, headers);
    expect(res.status).toBe(200);
    expect(res.body.language).toBe(language);
    const gp = professionals(res.body).get('dr-martin') as Professional;
    expect(gp.texts).toEqual([wordsFor('grid', true, 'TREAT', language as 'fr' | 'en')]);
    expect(gp.texts[0]).toMatch(language === 'fr' ? /Vous avez autorisé ce professionnel/ : /You authorized this professional/);
    const kine = professionals(res.body).get('kine-durand') as Professional;
    expect(kine.texts[0]).toMatch(language === 'fr' ? /Vous avez bloqué/ : /You blocked/);
  });

  it('a language it does not speak → 400; POST answers as GET (lang as a Parameters part)', async () => {
    expect((await access(tokens.get('lea') as string, 'lea-summary', '?_lang=de')).status).toBe(400);
    const posted = await server.request
      .post('/fhir/DocumentReference/lea-summary/$access')
      .set('Authorization', `Bearer ${tokens.get('lea')}`)
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'lang', valueCode: 'en' }] }));
    expect(posted.status).toBe(200);
    expect(posted.body).toEqual((await access(tokens.get('lea') as string, 'lea-summary', '?_lang=en')).body);
    const wrong = await server.request.post('/fhir/DocumentReference/lea-summary/$access').set('Authorization', `Bearer ${tokens.get('lea')}`).set('Content-Type', 'application/fhir+json').send('{"resourceType":"Patient"}');
    expect(wrong.status).toBe(400);
  });
});

describe("the reasons' table", () => {
  const grid = AuthorizationGrid.load();
  const context = { grid, inCompartment: () => true };

  /** Every reason decide() gives a practitioner for a document, over the product of what its steps read. */
  function reasonsOverEveryCase(): Set<string> {
    const reasons = new Set<string>();
    const bools = [false, true];
    for (const [mode, roles, samu, blocked, authorized, hideAll, hidden, administrator, author, gridAllows, masked, closed, etreatDenied, btgDenied] of product(
      [['TREAT', 'ETREAT', 'BTG'], [0, 1], bools, bools, bools, bools, bools, bools, bools, bools, bools, bools, bools, bools],
    )) {
      const caller = { ...practitioner('p', roles ? [gridAllows ? '10' : '21'] : [], { samu: samu as boolean }), purposeOfUse: mode as 'TREAT' };
      const rule = (kind: ConsentRule['kind'], extra: Partial<ConsentRule> = {}): ConsentRule => ({ patientId: 'x', kind, effect: 'deny', actor: null, dataId: null, purpose: null, ...extra });
      const rules: ConsentRule[] = [
        ...(blocked ? [rule('block', { actor: 'Practitioner/p' })] : []),
        ...(authorized ? [rule('authorize', { effect: 'permit', actor: 'Practitioner/p' })] : []),
        ...(hideAll ? [rule('hide-all')] : []),
        ...(hidden ? [rule('hide-document', { dataId: 'd' })] : []),
        ...(administrator ? [rule('administrator', { effect: 'permit', actor: 'Practitioner/p' })] : []),
        ...(masked ? [rule('emergency', { effect: 'permit', purpose: 'MASKED' })] : []),
        ...(etreatDenied ? [rule('emergency', { purpose: 'ETREAT' })] : []),
        ...(btgDenied ? [rule('emergency', { purpose: 'BTG' })] : []),
      ];
      const document: RowFacts = { resourceType: 'DocumentReference', id: 'd', patientId: 'x', createdBy: 'client:h', parties: author ? ['Practitioner/p', 'client:h'] : ['client:h'], typeKeys: grid.keysOf({ coding: [{ system: 'http://loinc.org', code: '68599-0' }] }), labels: [], context: null };
      const world: AccessWorld = { rulesOf: () => rules, linkingDocuments: () => [], document: () => undefined, closedSpace: () => closed as boolean };
      reasons.add(decide(caller, document, world, context).reason);
    }
    return reasons;
  }

  it('maps every reason decide() gives for a document to a code (a new rule needs its words)', () => {
    const reasons = reasonsOverEveryCase();
    expect([...reasons].filter((reason) => !(reason in REASON_CODES))).toEqual([]);
    expect(Object.keys(REASON_CODES).filter((reason) => !reasons.has(reason))).toEqual([]); // and the table holds nothing decide() never says
    expect(() => reasonCodeOf('a reason nobody wrote')).toThrow(/no code/);
    expect([REASON_CODES[BLOCKED], REASON_CODES[NO_ACTIVE_ROLE], REASON_CODES[CLOSED_SPACE]]).toEqual(['blocked', 'no-active-role', 'closed-space']);
  });

  it('has words in French and English for every code, verdict and mode, all different', () => {
    for (const language of LANGUAGES) {
      const sentences = new Set<string>();
      for (const code of ACCESS_REASON_CODES) for (const canSee of [true, false]) for (const mode of ['TREAT', 'BTG'] as const) sentences.add(wordsFor(code, canSee, mode, language));
      expect(sentences.size).toBe(ACCESS_REASON_CODES.length + 2); // the grid says three things: authorized, in an emergency, refused
    }
    expect(wordsFor('blocked', false, 'TREAT', 'fr')).not.toBe(wordsFor('blocked', false, 'TREAT', 'en'));
  });
});

/** The cartesian product of some lists. */
function product(lists: ReadonlyArray<readonly unknown[]>): unknown[][] {
  return lists.reduce<unknown[][]>((acc, list) => acc.flatMap((prefix) => list.map((value) => [...prefix, value])), [[]]);
}
