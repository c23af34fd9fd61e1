/**
 * Binaries governed by their links (CONTRACT §4.3 steps 6–7), over HTTP on
 * the scenario's cast (scenario.ts, seeded through the store):
 * - every form of an attachment's reference (relative, absolute on the base,
 *   versioned, with a query) links the Binary, so a hidden document hides its
 *   Binary from read, vread, search, `Binary/_history` and `/_history`;
 * - a Binary governed by several documents, or by documents and a
 *   securityContext document, is visible only where all of them are;
 * - linking never widens: an attachment may point at an existing Binary only
 *   if its submitter may already see it, else the 422 of a Binary that does
 *   not exist;
 * - a securityContext naming a document the caller may not see is answered
 *   exactly like one naming nothing.
 */
import type { Resource } from 'fhir/r4';
import type supertest from 'supertest';
import { binary, choice, documentReference } from './builders';
import { scenarioWrites } from './scenario';
import { BASE, FHIR_JSON, startTestServer, type TestServer } from '../support/server';

const FORMS: Array<[string, (id: string) => string]> = [
  ['relative', (id) => `Binary/${id}`],
  ['with _format=json', (id) => `Binary/${id}?_format=json`],
  ['with _format=application/fhir+json', (id) => `Binary/${id}?_format=application/fhir+json`],
  ['absolute on BASE_URL', (id) => `${BASE}/fhir/Binary/${id}`],
  ['versioned', (id) => `Binary/${id}/_history/1`],
  ['absolute, versioned, with a query', (id) => `${BASE}/fhir/Binary/${id}/_history/1?_format=json`],
];
const HIDINGS = ['MASQUE_PS', 'hide-document'] as const;
const slug = (hiding: (typeof HIDINGS)[number]) => (hiding === 'MASQUE_PS' ? 'masque' : 'hidden');

/** A document of px linking its Binary through `url`. */
function linkingDocument(id: string, url: string, options: { labels?: string[]; type?: string; authors?: string[] } = {}): Resource {
  const document = documentReference(id, 'px', { type: options.type ?? '11488-4', labels: options.labels, authors: options.authors });
  document.content = [{ attachment: { contentType: 'application/pdf', url } }];
  return document;
}

/** What a caller is answered, without what varies by request (ids, times). */
function answer(res: supertest.Response): { status: number; diagnostics?: string; expression?: string[] } {
  const issue = res.body?.resourceType === 'OperationOutcome' ? res.body.issue?.[0] : undefined;
  return { status: res.status, diagnostics: issue?.diagnostics, expression: issue?.expression };
}

describe('Binaries governed by their links', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();

  async function as(who: string, req: supertest.Test): Promise<supertest.Response> {
    const [name, mode] = who.split(':');
    if (!tokens.has(name)) {
      if (['lab', 'imaging'].includes(name)) tokens.set(name, await server.systemToken(name, 'system/*.*'));
      else if (['px', 'py'].includes(name)) tokens.set(name, await server.patientToken(name));
      else tokens.set(name, await server.practitionerToken(name));
    }
    req.set('Authorization', `Bearer ${tokens.get(name)}`);
    if (mode) req.set('X-Purpose-Of-Use', mode);
    return req;
  }
  const post = (who: string, type: string, resource: Resource) =>
    as(who, server.request.post(`/fhir/${type}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...resource, id: undefined })));

  beforeAll(async () => {
    server = await startTestServer();
    for (const [resource, by] of scenarioWrites()) await server.put(resource, by);
    const lab = 'client:lab';
    // item 2: one hidden document per form and hiding, its Binary otherwise the health profile's (securityContext Patient/px)
    for (const [index] of FORMS.entries()) {
      for (const hiding of HIDINGS) {
        const [document, target] = [`form${index}-${slug(hiding)}`, `form${index}-${slug(hiding)}-bin`];
        await server.put(binary(target, 'Patient/px'), lab);
        await server.put(linkingDocument(document, FORMS[index][1](target), { labels: hiding === 'MASQUE_PS' ? ['MASQUE_PS'] : [] }), lab);
        if (hiding === 'hide-document') await server.put(choice('hide-document', 'px', { id: `hide-${document}`, documents: [document] }), 'Patient/px');
      }
      await server.put(binary(`form${index}-visible-bin`, 'Patient/px'), lab);
      await server.put(linkingDocument(`form${index}-visible`, FORMS[index][1](`form${index}-visible-bin`)), lab);
    }
    // several governors: a visible and a hidden document; a visible document and a hidden securityContext document
    await server.put(binary('two-docs-bin', 'Patient/px'), lab);
    await server.put(linkingDocument('two-docs-open', 'Binary/two-docs-bin'), lab);
    await server.put(linkingDocument('two-docs-masked', `${BASE}/fhir/Binary/two-docs-bin?_format=json`, { labels: ['MASQUE_PS'] }), lab);
    await server.put(linkingDocument('annex-of', 'Binary/annex-of-bin', { labels: ['MASQUE_PS'] }), lab);
    await server.put(binary('annex-bin', 'DocumentReference/annex-of'), lab);
    await server.put(linkingDocument('annex-open', 'Binary/annex-bin'), lab);
    // item 3: Binaries of every governance, all uploaded by the laboratory
    await server.put(linkingDocument('own-doc', 'Binary/own-bin', { authors: ['Practitioner/author'] }), 'Practitioner/author');
    await server.put(linkingDocument('masked-doc', 'Binary/masked-bin', { labels: ['MASQUE_PS'], authors: ['Practitioner/author'] }), 'Practitioner/author');
    await server.put(linkingDocument('psy-doc', 'Binary/psy-bin', { type: '68599-0', authors: ['Practitioner/author'] }), 'Practitioner/author');
    for (const id of ['own-bin', 'masked-bin', 'psy-bin']) await server.put(binary(id, 'Patient/px'), lab);
    await server.put(binary('annex-masked-bin', 'DocumentReference/masked-doc'), lab);
    await server.put(binary('profile-bin', 'Patient/px'), lab);
  });
  afterAll(() => server.close());

  describe.each(FORMS.map(([form], index) => [form, index] as const))('an attachment %s', (_form, index) => {
    it.each(HIDINGS)('of a document hidden by %s hides its Binary from an authorized médecin everywhere', async (hiding) => {
      const id = `form${index}-${slug(hiding)}-bin`;
      expect((await as('gp', server.request.get(`/fhir/Binary/${id}`))).status).toBe(404);
      expect((await as('gp', server.request.get(`/fhir/Binary/${id}/_history/1`))).status).toBe(404);
      expect((await as('gp', server.request.get(`/fhir/Binary?_id=${id}&_total=accurate`))).body.total).toBe(0);
      for (const history of ['/fhir/Binary/_history?_count=1000', '/fhir/_history?_count=1000']) {
        const res = await as('gp', server.request.get(history));
        expect(res.status).toBe(200);
        expect((res.body.entry ?? []).map((entry: { resource?: Resource }) => entry.resource?.id)).not.toContain(id);
      }
      expect((await as('admin', server.request.get(`/fhir/Binary/${id}`))).status).toBe(200); // administrators see hidden documents
    });

    it('of a visible document leaves its Binary visible', async () => {
      expect((await as('gp', server.request.get(`/fhir/Binary/form${index}-visible-bin`))).status).toBe(200);
    });
  });

  it.each([
    ['a visible and a hidden document', 'two-docs-bin', 404],
    ['a visible document and a hidden securityContext document', 'annex-bin', 404],
    ['a securityContext patient alone', 'profile-bin', 200],
  ])('a Binary governed by %s is visible only where all of them are', async (_case, id, status) => {
    expect((await as('gp', server.request.get(`/fhir/Binary/${id}`))).status).toBe(status);
    expect((await as('px', server.request.get(`/fhir/Binary/${id}`))).status).toBe(200);
  });

  /** [submitter, Binary linked, may link] — the submitter may link exactly what it may already see (or uploaded). */
  const LINKS: Array<[string, string, boolean]> = [
    ...(
      [
        ['author', [true, true, true, true, false]], // the documents' author; not authorized, so not the health profile
        ['gp', [true, false, true, false, true]], // an authorized médecin
        ['pharma', [true, false, false, false, true]], // an authorized pharmacist: psychiatry is outside the grid
        ['px', [true, true, true, true, true]], // the patient
        ['lab', [true, true, true, true, true]], // the laboratory that uploaded every Binary
        ['imaging', [false, false, false, false, false]], // another system client
      ] as const
    ).flatMap(([who, allowed]) =>
      (['own-bin', 'masked-bin', 'psy-bin', 'annex-masked-bin', 'profile-bin'] as const).map((id, n): [string, string, boolean] => [who, id, allowed[n]]),
    ),
  ];

  it.each(LINKS)('%s links Binary/%s in a document of its own → allowed=%s, else the answer for a Binary that does not exist', async (who, id, allowed) => {
    const res = await post(who, 'DocumentReference', linkingDocument('new', `Binary/${id}`));
    const nothing = await post(who, 'DocumentReference', linkingDocument('new', `Binary/no-such-${id}`));
    expect(answer(nothing)).toEqual({ status: 422, diagnostics: expect.stringContaining('names no Binary'), expression: ['DocumentReference.content[0].attachment.url'] });
    if (allowed) expect(res.status).toBe(201);
    else expect(answer(res)).toEqual(answer(nothing));
    if (!allowed && who !== 'imaging' && who !== 'lab') expect((await as(who, server.request.get(`/fhir/Binary/${id}`))).status).toBe(404); // still hidden
  });

  it.each(FORMS)('a link written %s is checked too', async (_form, url) => {
    const res = await post('gp', 'DocumentReference', linkingDocument('new', url('masked-bin')));
    expect(answer(res)).toEqual(answer(await post('gp', 'DocumentReference', linkingDocument('new', url('no-such-bin')))));
    expect(res.status).toBe(422);
  });

  /** [caller, hidden document it may not see] — a securityContext naming it is answered as one naming nothing. */
  it.each([
    ['kine', 'own-doc'], // blocked by px
    ['py', 'own-doc'], // another patient
    ['gp:ETREAT', 'own-doc'], // ETREAT without the samu-regulator role
    ['gp', 'masked-doc'], // hidden by MASQUE_PS
    ['pharma', 'psy-doc'], // outside the grid
    ['imaging', 'own-doc'], // a system client that did not create it
  ])('%s: a Binary whose securityContext is DocumentReference/%s gets the answer of a securityContext naming nothing', async (who, document) => {
    const hidden = await post(who, 'Binary', binary('x', `DocumentReference/${document}`));
    const nothing = await post(who, 'Binary', binary('x', `DocumentReference/no-such-${document}`));
    expect(answer(nothing)).toEqual({ status: 422, diagnostics: expect.stringContaining('securityContext names no DocumentReference'), expression: ['Binary.securityContext'] });
    expect(answer(hidden)).toEqual(answer(nothing));
  });

  it.each([
    ['author', 'masked-doc'],
    ['gp', 'own-doc'],
    ['px', 'masked-doc'],
  ])('%s may give DocumentReference/%s, which it sees, as securityContext', async (who, document) => {
    expect((await post(who, 'Binary', binary('x', `DocumentReference/${document}`))).status).toBe(201);
  });

  it('a transaction creating a document and its Binary, the document first, links them', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:6f1c2a7e-0000-4000-8000-000000000001', resource: { ...linkingDocument('t', 'urn:uuid:6f1c2a7e-0000-4000-8000-000000000002', { labels: ['MASQUE_PS'] }), id: undefined }, request: { method: 'POST', url: 'DocumentReference' } },
        { fullUrl: 'urn:uuid:6f1c2a7e-0000-4000-8000-000000000002', resource: { ...binary('t', 'Patient/px'), id: undefined }, request: { method: 'POST', url: 'Binary' } },
      ],
    };
    const res = await as('lab', server.request.post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle)));
    expect(res.status).toBe(200);
    const binaryId = res.body.entry[1].response.location.split('/Binary/')[1].split('/')[0];
    expect((await as('gp', server.request.get(`/fhir/Binary/${binaryId}`))).status).toBe(404); // follows its MASQUE_PS document
  });
});
