/**
 * The access predicate is applied inside every query: hidden rows are absent
 * from matches, totals, chains, _has, includes and revincludes, and pages stay full.
 */
import { seeded, params, type SearchServer } from './fixtures';
import { allowAll, denyAll, sqlPredicate, type RowPredicate } from '../../src/kernel/predicate';

const hide = (hidden: Record<string, string[]>) => (type: string): RowPredicate => {
  const ids = hidden[type];
  if (!ids?.length) return allowAll;
  return sqlPredicate((alias) => ({ sql: `${alias}.id NOT IN (${ids.map(() => '?').join(', ')})`, bindings: ids }));
};

describe('access predicate inside search', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  const sorted = (ids: string[]) => [...ids].sort();

  it('removes hidden rows from matches and totals, and keeps pages full', async () => {
    const result = await b.search('Patient', '_count=2', { access: hide({ Patient: ['p2'] }) });
    expect(result.matches.map((r) => r.id)).toEqual(['p1', 'p3']);
    expect(result.total).toBe(3);
    const second = await b.engine.search({ resourceType: 'Patient', query: result.next!, access: hide({ Patient: ['p2'] }) });
    expect(second.matches.map((r) => r.id)).toEqual(['p4']);
    expect(second.total).toBe(3);
  });

  it.each([
    ['DocumentReference', 'patient.gender=male', { Patient: ['p2'] }, [], ['d3']],
    ['Observation', 'subject.organization.name=clinique', { Organization: ['o2'] }, [], ['obs3']],
    ['Patient', '_has:DocumentReference:patient:status=current', { DocumentReference: ['d1'] }, ['p2', 'p3'], ['p1', 'p2', 'p3']],
    ['Practitioner', '_has:Patient:general-practitioner:_has:Observation:subject:code=29463-7', { Observation: ['obs3'] }, [], ['pr2']],
  ])('%s?%s does not see through hidden %j', async (type, query, hidden, expected, unrestricted) => {
    expect(sorted(await b.ids(type, query, hide(hidden)))).toEqual(expected);
    expect(sorted(await b.ids(type, query))).toEqual(unrestricted);
  });

  it('leaves hidden resources out of _include, _revinclude and :iterate', async () => {
    const included = async (type: string, query: string, hidden: Record<string, string[]>) =>
      sorted((await b.search(type, query, { access: hide(hidden) })).included.map((r) => `${r.resourceType}/${r.id}`));
    expect(await included('DocumentReference', '_id=d1,d3&_include=DocumentReference:subject', { Patient: ['p2'] })).toEqual(['Patient/p1']);
    expect(await included('Patient', '_id=p1&_revinclude=DocumentReference:patient', { DocumentReference: ['d1'] })).toEqual(['DocumentReference/d2']);
    expect(await included('Patient', '_id=p1&_revinclude=*', { Observation: ['obs1', 'obs2'], Encounter: ['e1'] })).toEqual([
      'DocumentReference/d1',
      'DocumentReference/d2',
      'Immunization/im1',
      'QuestionnaireResponse/qr1',
      'RiskAssessment/ra1',
    ]);
    expect(await included('Patient', '_id=p1&_revinclude=DocumentReference:patient&_include:iterate=DocumentReference:author', { DocumentReference: ['d2'] })).toEqual([
      'DocumentReference/d1',
      'Practitioner/pr1',
    ]);
  });

  it('a type the caller may not read at all contributes nothing', async () => {
    const noPractitioners = (type: string) => (type === 'Practitioner' ? denyAll : allowAll);
    const result = await b.search('DocumentReference', '_id=d1&_include=*', { access: noPractitioners });
    expect(result.included.map((r) => r.resourceType)).toEqual(['Patient']);
    expect(await b.ids('Patient', 'general-practitioner.family=house', noPractitioners)).toEqual([]);
    expect(await b.ids(undefined, '_type=Practitioner,Organization', noPractitioners)).toEqual(['Organization/o1', 'Organization/o2']);
  });

  it('match() applies the predicate too', async () => {
    expect(await b.engine.match('Patient', params('gender=male'), hide({ Patient: ['p2'] }).call(null, 'Patient'), 10)).toHaveLength(1);
  });
});
