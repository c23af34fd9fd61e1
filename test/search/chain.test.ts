/** Chaining (several levels, typed) and reverse chaining (`_has`, nested). */
import { seeded, type SearchServer } from './fixtures';

const sorted = (ids: string[]) => [...ids].sort();

describe('chains and _has', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  it.each([
    ['DocumentReference', 'subject:Patient.name=durand', ['d1', 'd2']],
    ['DocumentReference', 'patient.gender=male', ['d3']],
    ['DocumentReference', 'patient.general-practitioner.name=house', ['d1', 'd2', 'd5']],
    ['DocumentReference', 'patient.general-practitioner:Practitioner.name=grey', ['d3']],
    ['DocumentReference', 'patient.birthdate=lt1980', ['d3']],
    ['DocumentReference', 'patient.name=durand,martin', ['d1', 'd2', 'd3']],
    ['DocumentReference', 'patient.name=durand&patient.gender=female', ['d1', 'd2']],
    ['DocumentReference', 'patient._id=p2', ['d3']],
    ['Observation', 'subject.organization.name=clinique', ['obs3']],
    ['Observation', 'subject:Patient.identifier=urn:oid:1.2.250.1.213.1.4.8|2800575123456', ['obs1', 'obs2']],
    ['Patient', 'organization.partof=o1', ['p2']],
    ['Patient', 'general-practitioner.family=house', ['p1', 'p3']],
    ['Patient', 'general-practitioner.family:missing=false', ['p1', 'p2', 'p3']],
  ])('%s?%s', async (type, query, expected) => {
    expect(sorted(await b.ids(type, query))).toEqual(sorted(expected));
  });

  it.each([
    ['Patient', '_has:Observation:subject:code=8480-6', ['p1', 'p3']],
    ['Patient', '_has:Observation:patient:value-quantity=gt130', ['p1']],
    ['Patient', '_has:DocumentReference:patient:author=pr2', ['p1']],
    ['Patient', '_has:DocumentReference:patient:status=current', ['p1', 'p2', 'p3']],
    ['Patient', '_has:Observation:subject:code=8480-6&_has:DocumentReference:patient:author=pr2', ['p1']],
    ['Practitioner', '_has:Patient:general-practitioner:_has:Observation:subject:code=29463-7', ['pr2']],
    ['Practitioner', '_has:DocumentReference:author:subject.gender=male', ['pr1']],
    ['Practitioner', '_has:Immunization:performer:vaccine-code=207', ['pr1']],
    ['Organization', '_has:Patient:organization:gender=male', ['o2']],
  ])('%s?%s', async (type, query, expected) => {
    expect(sorted(await b.ids(type, query))).toEqual(sorted(expected));
  });

  it('follows a chain only to current resources', async () => {
    await b.put({ resourceType: 'Patient', id: 'p9', gender: 'other' });
    await b.put({ resourceType: 'DocumentReference', id: 'd9', status: 'current', subject: { reference: 'Patient/p9' }, content: [{ attachment: {} }] });
    expect(await b.ids('DocumentReference', 'patient.gender=other')).toEqual(['d9']);
    await b.remove('Patient', 'p9');
    expect(await b.ids('DocumentReference', 'patient.gender=other')).toEqual([]);
  });
});
