/**
 * Two deviations from CONTRACT §4.3, over HTTP:
 * - a practitioner patient X blocked gets 403 for anything of X named by id
 *   (read, vread, instance history, update, patch, delete), and that 403
 *   depends only on the block: an id that does not exist stays 404, and an
 *   unauthorized (not blocked) practitioner still gets the 404 of a hidden row;
 * - document writes: the right to write (only D's author; the patient's
 *   visibility levers) is checked before the rules of the content, so a
 *   practitioner who did not author D gets 403 (not the author rule's 422),
 *   and X may remove INVISIBLE_REPRESENTANTS_LEGAUX from a practitioner's
 *   document (setting it again afterwards → 422) or hide and unhide it.
 */
import type { DocumentReference, Resource } from 'fhir/r4';
import { allowAll } from '../../src/kernel/predicate';
import { choice, documentReference, observation, roleResources, practitioner, system, A07 } from './builders';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';

const X = 'px-dev';
const AUTHOR = 'author-dev';
const minorBirthDate = `${new Date().getUTCFullYear() - 10}-01-01`;

describe('write-path deviations', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const call = (who: string, method: 'get' | 'put' | 'patch' | 'delete', path: string, body?: unknown) => {
    const req = server.request[method](`/fhir/${path}`).set('Authorization', `Bearer ${tokens[who]}`);
    if (body === undefined) return req;
    return req.set('Content-Type', method === 'patch' ? 'application/json-patch+json' : FHIR_JSON).send(JSON.stringify(body));
  };

  beforeAll(async () => {
    server = await startTestServer();
    for (const caller of [practitioner(AUTHOR, ['10']), practitioner('gp-dev', ['10']), practitioner('kine-dev', ['70']), practitioner('stranger-dev', ['10'])]) {
      for (const role of roleResources(caller)) await server.put(role);
    }
    await server.put({ resourceType: 'Patient', id: X, birthDate: minorBirthDate, name: [{ family: 'Mineur' }] } as Resource);
    await server.put({ resourceType: 'RelatedPerson', id: 'rx-dev', patient: { reference: `Patient/${X}` }, relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }] } as Resource);
    await server.put(choice('authorize', X, { actors: ['Practitioner/gp-dev'] }));
    await server.put(choice('authorize', X, { actors: ['Practitioner/kine-dev'] }));
    await server.put(choice('block', X, { actors: ['Practitioner/kine-dev'] }));
    await server.put(documentReference('doc-dev', X, { authors: ['Practitioner/kine-dev'] }), 'Practitioner/kine-dev'); // even what kine authored
    await server.put(observation('obs-dev', X), 'client:hospital');
    tokens.author = await server.practitionerToken(AUTHOR);
    tokens.gp = await server.practitionerToken('gp-dev');
    tokens.blocked = await server.practitionerToken('kine-dev');
    tokens.unauthorized = await server.practitionerToken('stranger-dev');
    tokens.patient = await server.patientToken(X);
    tokens.representative = await server.token({ sub: 'rx-dev', fhirUser: 'RelatedPerson/rx-dev', scope: 'patient/*.*' });
  });
  afterAll(() => server.close());

  describe('a practitioner X blocked: 403 for anything of X named by id', () => {
    const current = async (path: string) => (await server.session(system('op')).store.read(path.split('/')[0], path.split('/')[1], allowAll))?.content;
    /** A request by `who` on `path`; `like`: the existing resource whose content a PUT sends (under `path`'s id). */
    const interactions: Array<[string, (who: string, path: string, like: string) => Promise<{ status: number; body: { issue?: Array<{ diagnostics: string }> } }>]> = [
      ['read', (who, path) => call(who, 'get', path)],
      ['vread', (who, path) => call(who, 'get', `${path}/_history/1`)],
      ['instance history', (who, path) => call(who, 'get', `${path}/_history`)],
      ['update (PUT)', async (who, path, like) => call(who, 'put', path, { ...(await current(like)), id: path.split('/')[1] })],
      ['patch', (who, path) => call(who, 'patch', path, [{ op: 'add', path: '/language', value: 'fr' }])],
      ['delete', (who, path) => call(who, 'delete', path)],
    ];
    const targets = ['DocumentReference/doc-dev', 'Observation/obs-dev', `Patient/${X}`];
    const cases = interactions.flatMap(([name, run]) => targets.map((target) => [name, target, run] as const));

    /** Reading Patient/<any id> names a space: 403 "not authorized" whether or not it exists (§4.3 step 5), never "blockedBy". */
    const namesSpace = (name: string, target: string) => target.startsWith('Patient/') && ['read', 'vread', 'instance history'].includes(name);

    it.each(cases)('%s of %s → 403 (blockedBy); for an id that does not exist, no block', async (name, target, run) => {
      const blocked = await run('blocked', target, target);
      expect(blocked.status).toBe(403);
      expect(blocked.body.issue?.[0].diagnostics).toMatch(/blockedBy/);
      const missing = await run('blocked', `${target.split('/')[0]}/does-not-exist`, target);
      expect(missing.status).toBe(namesSpace(name, target) ? 403 : 404);
      expect(missing.body.issue?.[0].diagnostics).not.toMatch(/blockedBy/);
    });

    it.each(targets.filter((target) => !target.startsWith('Patient/')))('%s: the 403 depends only on the block: an unauthorized practitioner gets the 404 of a hidden row', async (target) => {
      expect((await call('unauthorized', 'get', target)).status).toBe(404);
      expect((await call('blocked', 'get', target)).status).toBe(403);
    });
  });

  describe('document writes: the right to write first, then the rules of the content', () => {
    type Change = (document: DocumentReference) => DocumentReference;
    const labelled = (labels: string[]) => (document: DocumentReference): DocumentReference => ({ ...document, securityLabel: labels.length ? [{ coding: labels.map((code) => ({ system: A07, code })) }] : undefined });
    const changes: Record<string, { seed: string[]; removedBefore?: boolean; change: Change }> = {
      'a content change': { seed: [], change: (document) => ({ ...document, description: 'corrigé' }) },
      'adding MASQUE_PS': { seed: [], change: labelled(['MASQUE_PS']) },
      'removing MASQUE_PS': { seed: ['MASQUE_PS'], change: labelled([]) },
      'removing INVISIBLE_REPRESENTANTS_LEGAUX': { seed: ['INVISIBLE_REPRESENTANTS_LEGAUX'], change: labelled([]) },
      're-adding INVISIBLE_REPRESENTANTS_LEGAUX once removed': { seed: ['INVISIBLE_REPRESENTANTS_LEGAUX'], removedBefore: true, change: labelled(['INVISIBLE_REPRESENTANTS_LEGAUX']) },
      'setting INVISIBLE_PATIENT': { seed: [], change: labelled(['INVISIBLE_PATIENT']) },
      'removing INVISIBLE_PATIENT': { seed: ['INVISIBLE_PATIENT'], change: labelled([]) },
    };
    // who × what → status; 404 where the caller may not see the document at all
    const table: Array<[string, string, number]> = [
      ['author', 'a content change', 200],
      ['author', 'adding MASQUE_PS', 200],
      ['author', 'removing MASQUE_PS', 200],
      ['author', 'removing INVISIBLE_REPRESENTANTS_LEGAUX', 200],
      ['author', 're-adding INVISIBLE_REPRESENTANTS_LEGAUX once removed', 422],
      ['author', 'setting INVISIBLE_PATIENT', 200],
      ['author', 'removing INVISIBLE_PATIENT', 200],
      ['gp', 'a content change', 403],
      ['gp', 'adding MASQUE_PS', 403],
      ['gp', 'removing MASQUE_PS', 404],
      ['gp', 'removing INVISIBLE_REPRESENTANTS_LEGAUX', 403],
      ['gp', 're-adding INVISIBLE_REPRESENTANTS_LEGAUX once removed', 403],
      ['gp', 'setting INVISIBLE_PATIENT', 403],
      ['gp', 'removing INVISIBLE_PATIENT', 403],
      ['patient', 'a content change', 403],
      ['patient', 'adding MASQUE_PS', 200],
      ['patient', 'removing MASQUE_PS', 200],
      ['patient', 'removing INVISIBLE_REPRESENTANTS_LEGAUX', 200],
      ['patient', 're-adding INVISIBLE_REPRESENTANTS_LEGAUX once removed', 422],
      ['patient', 'setting INVISIBLE_PATIENT', 403],
      ['patient', 'removing INVISIBLE_PATIENT', 404],
      ['representative', 'a content change', 403],
      ['representative', 'adding MASQUE_PS', 200],
      ['representative', 'removing MASQUE_PS', 200],
      ['representative', 'removing INVISIBLE_REPRESENTANTS_LEGAUX', 404],
      ['representative', 're-adding INVISIBLE_REPRESENTANTS_LEGAUX once removed', 422],
      ['representative', 'setting INVISIBLE_PATIENT', 403],
      ['representative', 'removing INVISIBLE_PATIENT', 404],
    ];
    let counter = 0;

    it.each(table)('%s, %s → %i', async (who, what, status) => {
      const { seed, removedBefore, change } = changes[what];
      const id = `dw-${++counter}`;
      const document = documentReference(id, X, { authors: [`Practitioner/${AUTHOR}`], labels: seed });
      await server.put(document, `Practitioner/${AUTHOR}`);
      if (removedBefore) await server.put(labelled([])(document), `Practitioner/${AUTHOR}`);
      const res = await call(who, 'put', `DocumentReference/${id}`, change(document));
      expect(res.status).toBe(status);
      if (status === 403) expect(res.body.issue[0].code).toBe('forbidden');
      if (status === 422) expect(res.body.issue[0].expression).toEqual(['DocumentReference.securityLabel']);
    });

    it.each([
      ['author', 204],
      ['gp', 403],
      ['patient', 403],
      ['representative', 403],
    ])('%s deletes a practitioner\'s document → %i', async (who, status) => {
      const id = `dw-${++counter}`;
      await server.put(documentReference(id, X, { authors: [`Practitioner/${AUTHOR}`] }), `Practitioner/${AUTHOR}`);
      expect((await call(who, 'delete', `DocumentReference/${id}`)).status).toBe(status);
    });
  });
});
