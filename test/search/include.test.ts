/** _include and _revinclude, with :iterate, `*` and a target type. */
import { seeded, type SearchServer } from './fixtures';

const sorted = (ids: string[]) => [...ids].sort();

describe('_include and _revinclude', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  const run = async (type: string, query: string) => {
    const result = await b.search(type, query);
    return { matches: result.matches.map((r) => `${r.resourceType}/${r.id}`), included: sorted(result.included.map((r) => `${r.resourceType}/${r.id}`)) };
  };

  it.each([
    ['DocumentReference', '_id=d1&_include=DocumentReference:author', ['DocumentReference/d1'], ['Practitioner/pr1']],
    ['DocumentReference', '_id=d1&_include=DocumentReference:subject:Patient', ['DocumentReference/d1'], ['Patient/p1']],
    ['DocumentReference', '_id=d1&_include=DocumentReference:subject:Group', ['DocumentReference/d1'], []],
    ['DocumentReference', '_id=d1&_include=*', ['DocumentReference/d1'], ['Patient/p1', 'Practitioner/pr1']],
    ['DocumentReference', '_id=d1,d3&_include=DocumentReference:author', ['DocumentReference/d1', 'DocumentReference/d3'], ['Practitioner/pr1']],
    ['DocumentReference', '_id=d4&_include=DocumentReference:subject', ['DocumentReference/d4'], []],
    ['DocumentReference', '_id=d5&_include=DocumentReference:subject', ['DocumentReference/d5'], ['Patient/p3']],
    ['Patient', '_id=p1&_revinclude=Observation:subject', ['Patient/p1'], ['Observation/obs1', 'Observation/obs2']],
    ['Patient', '_id=p1&_revinclude=DocumentReference:patient&_include=DocumentReference:author', ['Patient/p1'], ['DocumentReference/d1', 'DocumentReference/d2']],
    [
      'Patient',
      '_id=p1&_revinclude=DocumentReference:patient&_include:iterate=DocumentReference:author',
      ['Patient/p1'],
      ['DocumentReference/d1', 'DocumentReference/d2', 'Practitioner/pr1', 'Practitioner/pr2'],
    ],
    ['Observation', '_id=obs3&_include=Observation:subject&_include:iterate=Patient:organization&_include:iterate=Organization:partof', ['Observation/obs3'], ['Organization/o1', 'Organization/o2', 'Patient/p2']],
    [
      'Patient',
      '_id=p1&_revinclude=*',
      ['Patient/p1'],
      ['DocumentReference/d1', 'DocumentReference/d2', 'Encounter/e1', 'Immunization/im1', 'Observation/obs1', 'Observation/obs2', 'QuestionnaireResponse/qr1', 'RiskAssessment/ra1'],
    ],
    ['Patient', 'general-practitioner=pr1&_include=Patient:general-practitioner', ['Patient/p1', 'Patient/p3'], ['Practitioner/pr1']],
    ['Practitioner', '_id=pr1&_revinclude=Patient:general-practitioner&_revinclude:iterate=Observation:subject', ['Practitioner/pr1'], ['Observation/obs1', 'Observation/obs2', 'Observation/obs4', 'Patient/p1', 'Patient/p3']],
  ])('%s?%s', async (type, query, matches, included) => {
    expect(await run(type, query)).toEqual({ matches, included });
  });

  it('never includes a match twice, nor a deleted resource', async () => {
    await b.put({ resourceType: 'Practitioner', id: 'pr-gone' });
    await b.put({ resourceType: 'DocumentReference', id: 'd-gone', status: 'current', author: [{ reference: 'Practitioner/pr-gone' }], content: [{ attachment: {} }] });
    await b.remove('Practitioner', 'pr-gone');
    expect(await run('DocumentReference', '_id=d-gone&_include=DocumentReference:author')).toEqual({ matches: ['DocumentReference/d-gone'], included: [] });
    expect(await run('Organization', '_include:iterate=Organization:partof')).toEqual({ matches: ['Organization/o1', 'Organization/o2'], included: [] });
  });
});
