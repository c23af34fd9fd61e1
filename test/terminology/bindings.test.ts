/**
 * The profiles' bindings meet the terminology (CONTRACT §5): every value set
 * a StructureDefinition of profiles/ binds as required is one of terminology/, expands on
 * the server, and is enforced — a carnet-documentreference whose type is
 * outside JDV_J66 does not validate, and is not written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ElementDefinition, StructureDefinition, ValueSet } from 'fhir/r4';
import { startTestServer, send, type TestServer } from '../support/server';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCUMENT_PROFILE = 'https://carnet.example.org/fhir/StructureDefinition/carnet-documentreference';
const LOINC = 'http://loinc.org';
const A05 = 'https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire';

const jsonFiles = (dir: string) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((file) => file.endsWith('.json'))
    .map((file) => JSON.parse(fs.readFileSync(path.join(ROOT, dir, file), 'utf8')) as { resourceType?: string });

const profiles = jsonFiles('profiles').filter((resource): resource is StructureDefinition => resource.resourceType === 'StructureDefinition');
const terminologyValueSets = jsonFiles('terminology').filter((resource): resource is ValueSet => resource.resourceType === 'ValueSet');

/** Every [profile, element, value set] a profile binds as required (differential and snapshot); weaker bindings are not enforced. */
const bindings: [string, string, string][] = profiles.flatMap((profile) =>
  [...(profile.differential?.element ?? []), ...(profile.snapshot?.element ?? [])]
    .filter((element): element is ElementDefinition & { binding: { valueSet: string } } => typeof element.binding?.valueSet === 'string' && element.binding.strength === 'required')
    .map((element): [string, string, string] => [profile.id as string, element.path, element.binding.valueSet.split('|')[0]]),
);

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.systemToken('document-source', 'system/*.*');
});
afterAll(() => server.close());

it('the project binds at least the document type of carnet-documentreference', () => {
  expect(bindings).toContainEqual(['carnet-documentreference', 'DocumentReference.type', 'https://mos.esante.gouv.fr/NOS/JDV_J66-TypeCode-DMP/FHIR/JDV-J66-TypeCode-DMP']);
});

it.each(bindings)('%s binds %s to %s, a value set of terminology/ the server expands', async (_profile, _path, url) => {
  expect(terminologyValueSets.map((valueSet) => valueSet.url)).toContain(url);
  const res = await server.request.get(`/fhir/ValueSet/$expand?url=${encodeURIComponent(url)}&count=1`).set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(200);
  expect(res.body.expansion.total).toBeGreaterThan(0);
});

const document = (system: string, code: string) => ({
  resourceType: 'DocumentReference',
  meta: { profile: [DOCUMENT_PROFILE] },
  status: 'current',
  type: { coding: [{ system, code }] },
  subject: { display: 'a patient' },
  content: [{ attachment: { contentType: 'application/pdf', url: 'http://example.org/document.pdf' } }],
});

describe('DocumentReference/$validate against carnet-documentreference', () => {
  const errorsOf = async (resource: unknown) => {
    const res = await send(server, 'post', 'DocumentReference/$validate', token, resource);
    expect(res.status).toBe(200);
    return (res.body.issue as { severity: string; code: string; expression?: string[] }[]).filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  };

  it.each([
    ['a LOINC type of JDV_J66', LOINC, '11488-4'],
    ['a TRE_A05 type of JDV_J66', A05, 'DOCPAT05'],
  ])('%s validates', async (_case, system, code) => {
    expect(await errorsOf(document(system, code))).toEqual([]);
  });

  it.each([
    ['a LOINC code outside JDV_J66 (a Synthea clinical note)', LOINC, '34117-2'],
    ['a JDV_J66 code under the wrong system', A05, '11488-4'],
    ['a code of a system JDV_J66 does not draw on', 'http://snomed.info/sct', '371530004'],
  ])('%s fails: code-invalid at DocumentReference.type', async (_case, system, code) => {
    expect(await errorsOf(document(system, code))).toContainEqual(expect.objectContaining({ code: 'code-invalid', expression: ['DocumentReference.type'] }));
  });

  it('a document claiming the profile with a type outside JDV_J66 is not written (422)', async () => {
    const res = await send(server, 'post', 'DocumentReference', token, document(LOINC, '34117-2'));
    expect(res.status).toBe(422);
    expect(res.body.issue).toContainEqual(expect.objectContaining({ code: 'code-invalid', expression: ['DocumentReference.type'] }));
  });
});
