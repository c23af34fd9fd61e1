/**
 * The one reference parser (kernel/reference.ts, CONTRACT §4.3 step 6):
 * every form of a reference to a resource of this server is one link; a
 * foreign base, a relative path with extra segments or a malformed value is
 * never local.
 */
import { localReference, parseReference } from '../../src/kernel/reference';

const BASE = 'https://carnet.example.org/fhir';

describe('localReference', () => {
  it.each([
    // local: every form names Binary/1
    ['relative', 'Binary/1', { type: 'Binary', id: '1' }],
    ['relative, versioned', 'Binary/1/_history/2', { type: 'Binary', id: '1', version: '2' }],
    ['relative, with _format=json', 'Binary/1?_format=json', { type: 'Binary', id: '1' }],
    ['relative, with _format=application/fhir+json', 'Binary/1?_format=application/fhir+json', { type: 'Binary', id: '1' }],
    ['relative, versioned, with a query', 'Binary/1/_history/2?_format=json', { type: 'Binary', id: '1', version: '2' }],
    ['absolute on the base', `${BASE}/Binary/1`, { type: 'Binary', id: '1' }],
    ['absolute on the base, versioned', `${BASE}/Binary/1/_history/2`, { type: 'Binary', id: '1', version: '2' }],
    ['absolute on the base, with a query', `${BASE}/Binary/1?_format=json`, { type: 'Binary', id: '1' }],
    ['absolute on the base, another case of host and path', 'HTTPS://Carnet.Example.org/FHIR/Binary/1', { type: 'Binary', id: '1' }],
    ['absolute on the base, its default port', 'https://carnet.example.org:443/fhir/Binary/1', { type: 'Binary', id: '1' }],
    ['surrounded by spaces', ' Binary/1 ', { type: 'Binary', id: '1' }],
    // foreign: not local
    ['on another host', 'https://evil.example/fhir/Binary/1', undefined],
    ['on another path of our host', 'https://carnet.example.org/other/Binary/1', undefined],
    ['on our base plus a segment', `${BASE}/x/Binary/1`, undefined],
    ['on another scheme', 'http://carnet.example.org/fhir/Binary/1', undefined],
    ['on another port', 'https://carnet.example.org:8443/fhir/Binary/1', undefined],
    ['a urn', 'urn:uuid:2b4a1a2e-0a0c-4e1b-9d0a-1b2c3d4e5f60', undefined],
    ['a canonical', 'http://hl7.org/fhir/ValueSet/example|4.0.1', undefined],
    // malformed: not local
    ['a relative path with extra segments', 'x/Binary/1', undefined],
    ['a type in lower case', 'binary/1', undefined],
    ['no id', 'Binary/', undefined],
    ['an id too long', `Binary/${'a'.repeat(65)}`, undefined],
    ['an id with a forbidden character', 'Binary/1_2', undefined],
    ['a history without version', 'Binary/1/_history/', undefined],
    ['a contained reference', '#b1', undefined],
    ['empty', '', undefined],
    ['not a string', 42, undefined],
  ])('%s: %p', (_form, reference, expected) => {
    expect(localReference(reference, BASE)).toEqual(expected);
  });

  it.each([
    ['relative', 'Binary/1'],
    ['with a query', 'Binary/1?_format=json'],
    ['versioned', 'Binary/1/_history/2'],
  ])('without a base, a %s reference is local and an absolute one is not', (_form, reference) => {
    expect(localReference(reference)).toEqual(expect.objectContaining({ type: 'Binary', id: '1' }));
    expect(localReference(`${BASE}/${reference}`)).toBeUndefined();
  });
});

describe('parseReference', () => {
  it.each([
    ['a local reference with a query', 'Observation/1?_format=json', { targetType: 'Observation', targetId: '1', url: null }],
    ['an absolute one on the base', `${BASE}/Observation/1/_history/3`, { targetType: 'Observation', targetId: '1', url: null }],
    ['a foreign one keeps its URL, query included', 'https://evil.example/fhir/Observation/1?x=1', { targetType: 'Observation', targetId: '1', url: 'https://evil.example/fhir/Observation/1?x=1' }],
    ['a canonical is a URL', 'http://hl7.org/fhir/ValueSet/example|4.0.1', { targetType: null, targetId: null, url: 'http://hl7.org/fhir/ValueSet/example|4.0.1' }],
    ['a relative path with extra segments is nothing', 'x/Observation/1', undefined],
  ])('%s', (_name, reference, expected) => {
    expect(parseReference(reference, BASE)).toEqual(expected);
  });
});
