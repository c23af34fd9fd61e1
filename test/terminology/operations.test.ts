/**
 * The terminology operations over HTTP (CONTRACT §5): CodeSystem/$lookup,
 * CodeSystem/$validate-code, ValueSet/$validate-code and ValueSet/$expand,
 * each in its GET (query string) and POST (Parameters body) form, at type
 * and instance level, on the code systems and value sets of terminology/;
 * and metadata?mode=terminology.
 */
import type { Parameters, ParametersParameter, ValueSet } from 'fhir/r4';
import { startTestServer, FHIR_JSON, type TestServer } from '../support/server';
import grid from '../../terminology/authorization-grid.json';
import professions from '../../terminology/codesystem-tre-g15-profession-sante.json';

const G15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
const R38 = 'https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale';
const A05 = 'https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire';
const J66 = 'https://mos.esante.gouv.fr/NOS/JDV_J66-TypeCode-DMP/FHIR/JDV-J66-TypeCode-DMP';
const LOINC = 'http://loinc.org';
const CARNET = 'https://carnet.example.org/fhir';
const CONSENT_KIND = `${CARNET}/CodeSystem/consent-kind`;
const PROFESSIONS = `${CARNET}/ValueSet/profession`;

type Form = 'GET' | 'POST';
const FORMS: Form[] = ['GET', 'POST'];

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.practitionerToken('terminology-reader');
});
afterAll(() => server.close());

/** A GET carries primitives and `system|code` codings in the query string; a POST the Parameters as given. */
function call(form: Form, path: string, parts: ParametersParameter[]) {
  if (form === 'POST') {
    const body: Parameters = { resourceType: 'Parameters', parameter: parts };
    return server.request.post(`/fhir/${path}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
  }
  const query = new URLSearchParams(parts.map((part): [string, string] => [part.name, part.valueCoding ? `${part.valueCoding.system}|${part.valueCoding.code ?? ''}` : String(part.valueString ?? part.valueCode ?? part.valueUri ?? part.valueInteger)]));
  return server.request.get(`/fhir/${path}?${query}`).set('Authorization', `Bearer ${token}`);
}

const out = (body: Parameters, name: string) => body.parameter?.find((part) => part.name === name);
const outs = (body: Parameters, name: string) => (body.parameter ?? []).filter((part) => part.name === name);
const uri = (name: string, value: string): ParametersParameter => ({ name, valueUri: value });
const code = (value: string): ParametersParameter => ({ name: 'code', valueCode: value });
const text = (name: string, value: string): ParametersParameter => ({ name, valueString: value });
const int = (name: string, value: number): ParametersParameter => ({ name, valueInteger: value });
const coding = (system: string, value: string): ParametersParameter => ({ name: 'coding', valueCoding: { system, code: value } });
const bothForms = <T extends unknown[]>(rows: T[]): [Form, ...T][] => FORMS.flatMap((form) => rows.map((row) => [form, ...row] as [Form, ...T]));
type Parts = ParametersParameter[];
/** The expression naming a parameter: its name in a GET, or when it is missing; its part in a POST. */
const named = (form: Form, parameter: string, given: boolean) => (form === 'POST' && given ? `Parameters.parameter.where(name='${parameter}')` : parameter);

describe('CodeSystem/$lookup', () => {
  it.each(
    bothForms<[string, string, Parts, string, string]>([
      ['type level, system and code', 'CodeSystem/$lookup', [uri('system', G15), code('10')], 'TRE_G15_ProfessionSante', 'Médecin'],
      ['type level, a coding', 'CodeSystem/$lookup', [coding(G15, '70')], 'TRE_G15_ProfessionSante', 'Masseur-kinésithérapeute'],
      ['instance level, code only', 'CodeSystem/TRE-R38-SpecialiteOrdinale/$lookup', [code('SM54')], 'TRE_R38_SpecialiteOrdinale', 'Médecine générale (SM)'],
      ['instance level, a coding', 'CodeSystem/consent-kind/$lookup', [coding(CONSENT_KIND, 'block')], 'ConsentKind', 'Block a practitioner'],
      ['a complementary document type', 'CodeSystem/$lookup', [uri('system', A05), code('DOCPAT01')], 'TRE_A05_TypeDocComplementaire', 'Synthèse déposée par le patient'],
    ]),
  )('%s %s answers the name and display', async (form, _case, path, parts, name, display) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Parameters');
    expect(out(res.body, 'name')?.valueString).toBe(name);
    expect(out(res.body, 'display')?.valueString).toBe(display);
  });

  it.each(FORMS)('%s answers the version of a code system that has one (Carnet\'s own), none for the ANS fragments', async (form) => {
    expect(out((await call(form, 'CodeSystem/$lookup', [uri('system', CONSENT_KIND), code('block')])).body, 'version')?.valueString).toBe('0.1.0');
    expect(out((await call(form, 'CodeSystem/$lookup', [uri('system', G15), code('10')])).body, 'version')).toBeUndefined();
  });

  it.each(FORMS)('%s answers the definition of a concept as a property, and only the properties asked for', async (form) => {
    const all = await call(form, 'CodeSystem/$lookup', [uri('system', CONSENT_KIND), code('hide-all')]);
    const definition = outs(all.body, 'property').find((part) => part.part?.[0].valueCode === 'definition');
    expect(definition?.part?.[1].valueString).toMatch(/^No practitioner but the administrators/);
    const none = await call(form, 'CodeSystem/$lookup', [uri('system', CONSENT_KIND), code('hide-all'), { name: 'property', valueCode: 'parent' }]);
    expect(outs(none.body, 'property')).toEqual([]);
  });

  it.each(
    bothForms<[string, string, Parts, number, string | undefined, boolean]>([
      ['an unknown code', 'CodeSystem/$lookup', [uri('system', G15), code('99')], 404, undefined, false],
      ['an unknown code at instance level', 'CodeSystem/TRE-G15-ProfessionSante/$lookup', [code('99')], 404, undefined, false],
      ['a code of another system at instance level', 'CodeSystem/TRE-G15-ProfessionSante/$lookup', [coding(R38, 'SM54')], 400, 'coding', true],
      ['an unknown system', 'CodeSystem/$lookup', [uri('system', 'http://example.org/nothing'), code('10')], 404, undefined, false],
      ['an unknown instance', 'CodeSystem/no-such-system/$lookup', [code('10')], 404, undefined, false],
      ['no code', 'CodeSystem/$lookup', [uri('system', G15)], 400, 'code', false],
      ['a code without system', 'CodeSystem/$lookup', [code('10')], 400, 'system', false],
      ['a coding without system|code', 'CodeSystem/$lookup', [{ name: 'coding', valueCoding: { system: G15 } }], 400, 'coding', true],
    ]),
  )('%s with %s answers %i naming %s', async (form, _case, path, parts, status, parameter, given) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    if (parameter) expect(res.body.issue[0].expression).toEqual([named(form, parameter, given)]);
  });

  it.each([
    ['a body that is not Parameters', { resourceType: 'Patient' }, 'Parameters'],
    ['a code given as an integer', { resourceType: 'Parameters', parameter: [uri('system', G15), { name: 'code', valueInteger: 10 }] }, "Parameters.parameter.where(name='code')"],
    ['the system given twice', { resourceType: 'Parameters', parameter: [uri('system', G15), uri('system', R38), code('10')] }, "Parameters.parameter.where(name='system')"],
  ])('POST with %s is a 400 naming it', async (_case, body, expression) => {
    const res = await server.request.post('/fhir/CodeSystem/$lookup').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual([expression]);
  });

  it('needs a token like every /fhir request but metadata', async () => {
    const res = await server.request.get(`/fhir/CodeSystem/$lookup?system=${encodeURIComponent(G15)}&code=10`);
    expect(res.status).toBe(401);
  });

  it.each(['PUT', 'DELETE'])('%s on an operation is a 405 with Allow', async (method) => {
    const res = await (method === 'PUT' ? server.request.put('/fhir/ValueSet/$expand') : server.request.delete('/fhir/ValueSet/$expand')).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toContain('POST');
  });
});

describe('CodeSystem/$validate-code', () => {
  it.each(
    bothForms<[string, string, Parts, boolean, string | undefined, RegExp | undefined]>([
      ['a known code', 'CodeSystem/$validate-code', [uri('url', G15), code('50')], true, 'Sage-femme', undefined],
      ['a known code, system given as system', 'CodeSystem/$validate-code', [uri('system', G15), code('50')], true, 'Sage-femme', undefined],
      ['a known code at instance level', 'CodeSystem/TRE-G15-ProfessionSante/$validate-code', [code('21')], true, 'Pharmacien', undefined],
      ['a coding at instance level', 'CodeSystem/role/$validate-code', [coding(`${CARNET}/CodeSystem/role`, 'samu-regulator')], true, 'SAMU regulator', undefined],
      ['a right display', 'CodeSystem/$validate-code', [uri('url', G15), code('10'), text('display', 'Médecin')], true, 'Médecin', undefined],
      ['a wrong display', 'CodeSystem/$validate-code', [uri('url', G15), code('10'), text('display', 'Pharmacien')], true, 'Médecin', /^warning: the display "Pharmacien" is not the display of .*"Médecin"$/],
      ['an unknown code', 'CodeSystem/$validate-code', [uri('url', G15), code('99')], false, undefined, /the code "99" is not in the code system/],
      ['an unknown code at instance level', 'CodeSystem/purpose/$validate-code', [code('TREAT')], false, undefined, /not in the code system/],
    ]),
  )('%s %s: result %s, display %s', async (form, _case, path, parts, result, display, message) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(200);
    expect(out(res.body, 'result')?.valueBoolean).toBe(result);
    expect(out(res.body, 'display')?.valueString).toBe(display);
    if (message) expect(out(res.body, 'message')?.valueString).toMatch(message);
    else expect(out(res.body, 'message')).toBeUndefined();
  });

  it.each([
    ['one coding of the system among others', [{ system: LOINC, code: '11488-4' }, { system: G15, code: '60' }], true],
    ['only codes not in it', [{ system: G15, code: '99' }], false],
  ] as [string, { system: string; code: string }[], boolean][])('POST with a codeableConcept holding %s: result %s', async (_case, codings, result) => {
    const res = await call('POST', 'CodeSystem/$validate-code', [uri('url', G15), { name: 'codeableConcept', valueCodeableConcept: { coding: codings } }]);
    expect(out(res.body, 'result')?.valueBoolean).toBe(result);
  });

  it.each(
    bothForms<[string, string, Parts, number, string | undefined]>([
      ['an unknown code system', 'CodeSystem/$validate-code', [uri('url', 'http://example.org/nothing'), code('10')], 404, undefined],
      ['an unknown instance', 'CodeSystem/nothing/$validate-code', [code('10')], 404, undefined],
      ['no code', 'CodeSystem/$validate-code', [uri('url', G15)], 400, 'code'],
      ['a code and no code system', 'CodeSystem/$validate-code', [code('10')], 400, 'url'],
    ]),
  )('%s with %s answers %i naming %s', async (form, _case, path, parts, status, parameter) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    if (parameter) expect(res.body.issue[0].expression).toEqual([parameter]);
  });

  it('GET cannot carry a codeableConcept: a 400 naming it', async () => {
    const res = await server.request.get(`/fhir/CodeSystem/$validate-code?url=${encodeURIComponent(G15)}&codeableConcept=10`).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['codeableConcept']);
  });
});

describe('ValueSet/$validate-code', () => {
  it.each(
    bothForms<[string, string, Parts, boolean, string | undefined, RegExp | undefined]>([
      ['a LOINC type of JDV_J66', 'ValueSet/$validate-code', [uri('url', J66), uri('system', LOINC), code('11488-4')], true, 'CR ou fiche de consultation ou de visite', undefined],
      ['a TRE_A05 type of JDV_J66, as a coding', 'ValueSet/$validate-code', [uri('url', J66), coding(A05, 'REMB')], true, 'Données de remboursement', undefined],
      ['at instance level', 'ValueSet/JDV-J66-TypeCode-DMP/$validate-code', [uri('system', LOINC), code('60591-5')], true, 'Synthèse médicale', undefined],
      ["LOINC's English display", 'ValueSet/$validate-code', [uri('url', J66), uri('system', LOINC), code('11488-4'), text('display', 'Consult note')], true, 'CR ou fiche de consultation ou de visite', /^warning: the display "Consult note"/],
      ['a LOINC code outside JDV_J66', 'ValueSet/$validate-code', [uri('url', J66), uri('system', LOINC), code('34117-2')], false, undefined, /is not in the value set/],
      ['a JDV_J66 code in the wrong system', 'ValueSet/$validate-code', [uri('url', J66), uri('system', A05), code('11488-4')], false, undefined, /is not in the value set/],
      ['a v3-ActReason purpose', 'ValueSet/$validate-code', [uri('url', `${CARNET}/ValueSet/purpose-of-use`), uri('system', 'http://terminology.hl7.org/CodeSystem/v3-ActReason'), code('BTG')], true, 'break the glass', undefined],
      ['a visibility label', 'ValueSet/document-visibility/$validate-code', [coding('https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument', 'MASQUE_PS')], true, 'Masqué aux professionnels de santé', undefined],
    ]),
  )('%s %s: result %s, display %s', async (form, _case, path, parts, result, display, message) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(200);
    expect(out(res.body, 'result')?.valueBoolean).toBe(result);
    expect(out(res.body, 'display')?.valueString).toBe(display);
    if (message) expect(out(res.body, 'message')?.valueString).toMatch(message);
    else expect(out(res.body, 'message')).toBeUndefined();
  });

  it('POST with a DocumentReference.type codeableConcept: valid when one coding is in JDV_J66', async () => {
    const concept = { coding: [{ system: 'http://snomed.info/sct', code: '371530004' }, { system: LOINC, code: '34133-9', display: "Synthèse d'épisode de soins" }] };
    const res = await call('POST', 'ValueSet/$validate-code', [uri('url', J66), { name: 'codeableConcept', valueCodeableConcept: concept }]);
    expect(out(res.body, 'result')?.valueBoolean).toBe(true);
    expect(out(res.body, 'message')).toBeUndefined();
  });

  it.each(
    bothForms<[string, string, Parts, number, string | undefined]>([
      ['an unknown value set', 'ValueSet/$validate-code', [uri('url', 'http://example.org/ValueSet/nothing'), uri('system', LOINC), code('11488-4')], 404, undefined],
      ['an unknown instance', 'ValueSet/nothing/$validate-code', [uri('system', LOINC), code('11488-4')], 404, undefined],
      ['no url at type level', 'ValueSet/$validate-code', [uri('system', LOINC), code('11488-4')], 400, 'url'],
      ['a code without system', 'ValueSet/$validate-code', [uri('url', J66), code('11488-4')], 400, 'system'],
      ['no code', 'ValueSet/$validate-code', [uri('url', J66)], 400, 'code'],
    ]),
  )('%s with %s answers %i naming %s', async (form, _case, path, parts, status, parameter) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    if (parameter) expect(res.body.issue[0].expression).toEqual([parameter]);
  });
});

describe('ValueSet/$expand', () => {
  const codes = (body: ValueSet) => (body.expansion?.contains ?? []).map((item) => item.code);
  const gridTypes = [...new Set(Object.values(grid.categories).flatMap((category) => category.codes))];

  it.each(
    bothForms<[string, string, Parts, number, string[] | undefined]>([
      ['every profession', 'ValueSet/$expand', [uri('url', PROFESSIONS)], professions.concept.length, undefined],
      ['every profession, instance level', 'ValueSet/profession/$expand', [], professions.concept.length, undefined],
      ['"medecin" finds "Médecin"', 'ValueSet/$expand', [uri('url', PROFESSIONS), text('filter', 'medecin')], 1, ['10']],
      ['"MÉDECIN" finds it too', 'ValueSet/profession/$expand', [text('filter', 'MÉDECIN')], 1, ['10']],
      ['"kine" finds the kinésithérapeute', 'ValueSet/profession/$expand', [text('filter', 'kine')], 1, ['70']],
      ['"infirmier" finds both nurses', 'ValueSet/profession/$expand', [text('filter', 'infirmier')], 2, ['60', '69']],
      ['a filter on the code', 'ValueSet/specialty/$expand', [text('filter', 'sm54')], 1, ['SM54']],
      ['every word of the filter', 'ValueSet/JDV-J66-TypeCode-DMP/$expand', [text('filter', 'deposee patient imagerie')], 1, ['DOCPAT04']],
      ['a filter matching nothing', 'ValueSet/profession/$expand', [text('filter', 'astronaute')], 0, []],
    ]),
  )('%s %s: total %i', async (form, _case, path, parts, total, expected) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('ValueSet');
    expect(res.body.expansion.total).toBe(total);
    if (expected) expect(codes(res.body)).toEqual(expected);
    else expect(res.body.expansion.contains).toHaveLength(total);
    expect(res.body.compose).toBeUndefined();
  });

  it.each(
    bothForms<[string, number, number, number]>([
      ['the first page', 0, 10, 10],
      ['a middle page', 40, 25, 25],
      ['the last, short page', 95, 10, gridTypes.length - 95],
      ['past the end', 500, 10, 0],
      ['only the total', 0, 0, 0],
    ]),
  )('%s JDV_J66 paged, %s (offset %i, count %i): %i concepts, the total of all', async (form, _case, offset, count, size) => {
    const res = await call(form, 'ValueSet/$expand', [uri('url', J66), int('offset', offset), int('count', count)]);
    expect(res.status).toBe(200);
    expect(res.body.expansion.total).toBe(gridTypes.length);
    expect(res.body.expansion.offset).toBe(offset);
    expect(res.body.expansion.contains).toHaveLength(size);
    expect(res.body.expansion.parameter).toEqual([
      { name: 'offset', valueInteger: offset },
      { name: 'count', valueInteger: count },
    ]);
  });

  it.each(FORMS)('%s pages of 7 cover the filtered expansion once each', async (form) => {
    const all = (await call(form, 'ValueSet/JDV-J66-TypeCode-DMP/$expand', [text('filter', 'cr')])).body as ValueSet;
    const total = all.expansion?.total as number;
    expect(total).toBeGreaterThan(20);
    const paged: string[] = [];
    for (let offset = 0; offset < total; offset += 7) {
      const page = (await call(form, 'ValueSet/JDV-J66-TypeCode-DMP/$expand', [text('filter', 'cr'), int('offset', offset), int('count', 7)])).body as ValueSet;
      expect(page.expansion?.total).toBe(total);
      paged.push(...codes(page).map(String));
    }
    expect(paged).toEqual(codes(all));
  });

  it('expands JDV_J66 to every document type of the grid, with its system and display', async () => {
    const res = await call('GET', 'ValueSet/$expand', [uri('url', J66)]);
    const contains = (res.body as ValueSet).expansion?.contains ?? [];
    expect(contains.map((item) => item.code).sort()).toEqual([...gridTypes].sort());
    expect(contains.find((item) => item.code === '11488-4')).toEqual({ system: LOINC, code: '11488-4', display: 'CR ou fiche de consultation ou de visite' });
    expect(contains.find((item) => item.code === 'PRESC-KINE')).toEqual({ system: A05, code: 'PRESC-KINE', display: "Prescription d'actes de kinésithérapie" });
  });

  it.each(
    bothForms<[string, string, Parts, number, string | undefined, boolean]>([
      ['an unknown value set', 'ValueSet/$expand', [uri('url', 'http://example.org/ValueSet/nothing')], 404, undefined, false],
      ['an unknown instance', 'ValueSet/nothing/$expand', [], 404, undefined, false],
      ['no url at type level', 'ValueSet/$expand', [text('filter', 'x')], 400, 'url', false],
      ['a negative count', 'ValueSet/profession/$expand', [int('count', -1)], 400, 'count', true],
      ['a negative offset', 'ValueSet/profession/$expand', [int('offset', -5)], 400, 'offset', true],
      ['an empty filter', 'ValueSet/profession/$expand', [text('filter', ' ')], 400, 'filter', true],
    ]),
  )('%s with %s answers %i naming %s', async (form, _case, path, parts, status, parameter, given) => {
    const res = await call(form, path, parts);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    if (parameter) expect(res.body.issue[0].expression).toEqual([named(form, parameter, given)]);
  });

  it('GET with a count that is not a number is a 400 naming count', async () => {
    const res = await server.request.get('/fhir/ValueSet/profession/$expand?count=ten').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['count']);
  });
});

describe('the README examples', () => {
  it('looks up the médecin and finds it by "medecin", with the URLs as written there', async () => {
    const lookup = await server.request.get(`/fhir/CodeSystem/$lookup?system=${G15}&code=10`).set('Authorization', `Bearer ${token}`);
    expect([out(lookup.body, 'name')?.valueString, out(lookup.body, 'display')?.valueString]).toEqual(['TRE_G15_ProfessionSante', 'Médecin']);
    const expand = await server.request.get('/fhir/ValueSet/profession/$expand?filter=medecin&count=5').set('Authorization', `Bearer ${token}`);
    expect(expand.body.expansion.total).toBe(1);
    expect(expand.body.expansion.contains).toEqual([{ system: G15, code: '10', display: 'Médecin' }]);
  });
});

describe('metadata', () => {
  it('mode=terminology answers a TerminologyCapabilities naming every code system served, without a token', async () => {
    const res = await server.request.get('/fhir/metadata?mode=terminology');
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('TerminologyCapabilities');
    const uris = res.body.codeSystem.map((system: { uri: string }) => system.uri);
    expect(uris).toEqual(expect.arrayContaining([G15, R38, A05, LOINC, CONSENT_KIND, `${CARNET}/CodeSystem/role`, `${CARNET}/CodeSystem/purpose`]));
    expect(uris).toEqual(expect.arrayContaining(['https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument', 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument']));
    expect(res.body.expansion.paging).toBe(true);
    expect(res.body.validateCode).toBeDefined();
    const served = await server.request.get('/fhir/CodeSystem?_count=1000').set('Authorization', `Bearer ${token}`);
    expect([...uris].sort()).toEqual(served.body.entry.map((entry: { resource: { url: string } }) => entry.resource.url).sort());
  });

  it.each([
    ['CodeSystem', ['lookup', 'validate-code']],
    ['ValueSet', ['expand', 'validate-code']],
  ])('the CapabilityStatement lists on %s the operations %j', async (type, names) => {
    const res = await server.request.get('/fhir/metadata');
    const entry = res.body.rest[0].resource.find((resource: { type: string }) => resource.type === type);
    const operations = (entry.operation ?? []).map((operation: { name: string }) => operation.name);
    expect(operations).toEqual(expect.arrayContaining(names));
  });
});
