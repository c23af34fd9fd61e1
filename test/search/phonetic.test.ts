/**
 * `phonetic` sounds names alike (French Phonex, src/search/phonetic.ts), not
 * as a prefix: Dupond finds Dupont, Lefevre finds Lefèvre and Lefebvre, and
 * neither finds Durand. Rows indexed before (the folded text) are rewritten
 * by the migration 20261203000100_phonetic_keys.
 */
import type { Bundle, Resource } from 'fhir/r4';
import { get, startTestServer, type TestServer } from '../support/server';
import { up as rewritePhoneticRows } from '../../src/store/migrations/20261203000100_phonetic_keys';

const CLIENT = 'client:phonetic-client';
const PEOPLE: [string, string, string][] = [
  ['Patient', 'dupont', 'Dupont'],
  ['Patient', 'lefevre-accent', 'Lefèvre'],
  ['Patient', 'lefebvre', 'Lefebvre'],
  ['Patient', 'durand', 'Durand'],
  ['Practitioner', 'thomas', 'Thomas'],
];

describe('phonetic search', () => {
  let server: TestServer;
  let op: string;
  beforeAll(async () => {
    server = await startTestServer();
    op = await server.systemToken('phonetic-client');
    for (const [type, id, family] of PEOPLE) await server.put({ resourceType: type, id, name: [{ family, given: ['Marie'] }] } as Resource, CLIENT);
  }, 120_000);
  afterAll(async () => server?.close());

  const found = async (query: string) => {
    const res = await get(server, query, op).set('Prefer', 'handling=strict');
    expect(res.status).toBe(200);
    return ((res.body as Bundle).entry ?? []).map((entry) => entry.resource?.id).sort();
  };

  it.each([
    ['Patient?phonetic=Dupond', ['dupont']],
    ['Patient?phonetic=Lefevre', ['lefebvre', 'lefevre-accent']],
    ['Patient?phonetic=LEFEBVRE', ['lefebvre', 'lefevre-accent']],
    ['Patient?phonetic=Durant', ['durand']],
    ['Patient?phonetic=Dupond,Durand', ['dupont', 'durand']],
    ['Patient?phonetic=Marie Dupond', ['dupont']],
    ['Patient?phonetic=Dup', []], // not a prefix
    ['Practitioner?phonetic=Tomas', ['thomas']],
  ])('%s finds %j', async (query, ids) => {
    expect(await found(query)).toEqual(ids);
  });

  it('refuses a value with no letters (400)', async () => {
    expect((await get(server, 'Patient?phonetic=123', op)).status).toBe(400);
  });

  it('rewrites the rows indexed as folded text before the migration', async () => {
    await server.carnet.db.raw(`UPDATE search_string SET value_normalized = lower(value_exact) WHERE param = 'phonetic' AND resource_type = 'Patient'`);
    expect(await found('Patient?phonetic=Dupond')).toEqual([]); // what the old rows answered
    await rewritePhoneticRows(server.carnet.db);
    expect(await found('Patient?phonetic=Dupond')).toEqual(['dupont']);
    expect(await found('Patient?phonetic=Lefevre')).toEqual(['lefebvre', 'lefevre-accent']);
  });
});
