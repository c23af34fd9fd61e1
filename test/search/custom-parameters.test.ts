/** Project SearchParameters (profiles/): adding one is data, no code. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bench, type Bench } from './fixtures';
import { createRegistry, readSearchParameters } from '../../src/search/parameters';

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
  let b: Bench;
  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'consent-kind.json'), JSON.stringify(consentKind));
    fs.writeFileSync(path.join(dir, 'bundle.json'), JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: visibility }] }));
    fs.writeFileSync(path.join(dir, 'profile.json'), JSON.stringify({ resourceType: 'StructureDefinition', id: 'not-a-parameter' }));
    b = await bench(createRegistry(dir));
    await b.put({
      resourceType: 'Consent',
      id: 'c1',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'https://carnet.example.org/fhir/CodeSystem/consent-kind', code: 'block' }] }],
      patient: { reference: 'Patient/x' },
    });
    await b.put({
      resourceType: 'DocumentReference',
      id: 'd1',
      status: 'current',
      securityLabel: [{ coding: [{ system: 'urn:tre-a07', code: 'MASQUE_PS' }] }],
      content: [{ attachment: {} }],
    });
  });
  afterAll(() => b.t.drop());

  it('reads SearchParameters from files and bundles, skipping other resources', () => {
    expect(readSearchParameters(dir).map((p) => p.code).sort()).toEqual(['consent-kind', 'visibility']);
    expect(readSearchParameters(path.join(dir, 'missing'))).toEqual([]);
  });

  it('indexes and searches a project parameter like a base one', async () => {
    expect(await b.ids('Consent', 'consent-kind=block')).toEqual(['c1']);
    expect(await b.ids('Consent', 'consent-kind=authorize')).toEqual([]);
    expect(await b.ids('DocumentReference', 'visibility=urn:tre-a07|MASQUE_PS')).toEqual(['d1']);
    expect(await b.ids('DocumentReference', '_sort=visibility')).toEqual(['d1']);
  });

  it('stops on a broken definition, naming the file', () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-sp-broken-'));
    fs.writeFileSync(path.join(broken, 'bad.json'), JSON.stringify({ ...consentKind, expression: 'Consent.category.where(' }));
    expect(() => readSearchParameters(broken)).toThrow();
    fs.writeFileSync(path.join(broken, 'bad.json'), JSON.stringify({ ...consentKind, base: [] }));
    expect(() => readSearchParameters(broken)).toThrow(/bad\.json/);
  });
});
