/**
 * Project SearchParameters (profiles/): adding one is data, no code. The
 * server's composition reads profiles/ only, so the parameters written here
 * are loaded into a registry of their own and given to the search module's
 * front door (createSearchEngine, as src/server.ts calls it); its indexer and
 * engine run on the test server's database, with production's store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { BASE, CREATOR, params } from './fixtures';
import { startTestServer, type TestServer } from '../support/server';
import { createSearchEngine, type SearchComponents } from '../../src/search';
import { createRegistry, readSearchParameters } from '../../src/search/parameters';
import { ResourceStore } from '../../src/store/resources';
import { allowAll } from '../../src/kernel/predicate';
import { submitterOf } from '../../src/kernel/caller';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-sp-'));

const consentKind = {
  resourceType: 'SearchParameter',
  url: 'https://carnet.example.org/fhir/SearchParameter/consent-kind',
  name: 'ConsentKind',
  status: 'active',
  code: 'consent-kind',
  base: ['Consent'],
  type: 'token',
  expression: "Consent.category.coding.where(system = 'https://carnet.example.org/fhir/CodeSystem/consent-kind')",
  description: 'The Carnet consent kind',
};
const visibility = {
  resourceType: 'SearchParameter',
  url: 'https://carnet.example.org/fhir/SearchParameter/document-visibility',
  name: 'DocumentVisibility',
  status: 'active',
  code: 'visibility',
  base: ['DocumentReference'],
  type: 'token',
  expression: 'DocumentReference.securityLabel',
  description: 'Visibility labels of a document',
};

describe('loadSearchParameters', () => {
  let server: TestServer;
  let search: SearchComponents;
  const put = (resource: Resource) => {
    const patientId = server.session(CREATOR).compartment.patientsOf(resource)[0] ?? null;
    return server.carnet.sql.transaction((trx) => new ResourceStore(trx, search.indexer).insert({ resource, patientId, createdBy: submitterOf(CREATOR), method: 'POST' }));
  };
  const ids = async (type: string, query: string) =>
    (await search.search(server.carnet.sql).search({ resourceType: type, query: params(query), access: () => allowAll })).matches.map((row) => row.id);
  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'consent-kind.json'), JSON.stringify(consentKind));
    fs.writeFileSync(path.join(dir, 'bundle.json'), JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: visibility }] }));
    fs.writeFileSync(path.join(dir, 'profile.json'), JSON.stringify({ resourceType: 'StructureDefinition', id: 'not-a-parameter' }));
    server = await startTestServer();
    search = createSearchEngine({ registry: createRegistry(dir), baseUrl: BASE });
    await put({
      resourceType: 'Consent',
      id: 'c1',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'block' }] }],
      patient: { reference: 'Patient/x' },
    } as Resource);
    await put({
      resourceType: 'DocumentReference',
      id: 'd1',
      status: 'current',
      securityLabel: [{ coding: [{ system: 'urn:tre-a07', code: 'MASQUE_PS' }] }],
      content: [{ attachment: {} }],
    } as Resource);
  });
  afterAll(() => server.close());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads SearchParameters from files and bundles, skipping other resources', () => {
    expect(readSearchParameters(dir).map((p) => p.code).sort()).toEqual(['consent-kind', 'visibility']);
    expect(readSearchParameters(path.join(dir, 'missing'))).toEqual([]);
  });

  it('indexes and searches a project parameter like a base one', async () => {
    expect(await ids('Consent', 'consent-kind=block')).toEqual(['c1']);
    expect(await ids('Consent', 'consent-kind=authorize')).toEqual([]);
    expect(await ids('DocumentReference', 'visibility=urn:tre-a07|MASQUE_PS')).toEqual(['d1']);
    expect(await ids('DocumentReference', '_sort=visibility')).toEqual(['d1']);
  });

  it('stops on a broken definition, naming the file', () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-sp-broken-'));
    fs.writeFileSync(path.join(broken, 'bad.json'), JSON.stringify({ ...consentKind, expression: 'Consent.category.where(' }));
    expect(() => readSearchParameters(broken)).toThrow();
    fs.writeFileSync(path.join(broken, 'bad.json'), JSON.stringify({ ...consentKind, base: [] }));
    expect(() => readSearchParameters(broken)).toThrow(/bad\.json/);
    fs.rmSync(broken, { recursive: true, force: true });
  });
});
