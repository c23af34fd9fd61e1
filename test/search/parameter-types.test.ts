/** Search cases per parameter type, prefix and modifier (search.html), over the shared data set. */
import { seeded, PROFILE, type SearchServer } from './fixtures';

const sorted = (ids: string[]) => [...ids].sort();

describe('search by parameter type', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  const cases = (rows: [string, string, string[]][]) => rows;

  describe.each([
    [
      'string',
      cases([
        ['Patient', 'name=dur', ['p1', 'p4']],
        ['Patient', 'name=DUR', ['p1', 'p4']],
        ['Patient', 'name=elodie', ['p1']],
        ['Patient', 'name=Élo', ['p1']],
        ['Patient', 'family=dupont', ['p3']],
        ['Patient', 'family=lefevre', []],
        ['Patient', 'family:contains=lefevre', ['p3']],
        ['Patient', 'family:contains=AND', ['p1', 'p4']],
        ['Patient', 'family:exact=Durand', ['p1']],
        ['Patient', 'family:exact=durand', []],
        ['Patient', 'name=zoe dupont', ['p3']],
        ['Patient', 'given=jean,marc', ['p2', 'p4']],
        ['Patient', 'address-city=paris', ['p1', 'p3']],
        ['Patient', 'address=75010', ['p1']],
        ['Patient', 'name=dur&gender=male', ['p4']],
        ['Patient', 'name=dur&name=durandal', ['p4']],
        ['Patient', 'family:missing=true', []],
        ['Patient', 'family:missing=false', ['p1', 'p2', 'p3', 'p4']],
        ['Organization', 'name=hopital saint', ['o1']],
        ['Immunization', 'lot-number=ab', ['im1']],
        ['DocumentReference', 'description=compte', ['d1']],
      ]),
    ],
    [
      'token',
      cases([
        ['Patient', 'gender=female', ['p1', 'p3']],
        ['Patient', 'gender:not=female', ['p2', 'p4']],
        ['Patient', 'gender=female,male', ['p1', 'p2', 'p3', 'p4']],
        ['Patient', 'identifier=urn:oid:1.2.250.1.213.1.4.8|2800575123456', ['p1']],
        ['Patient', 'identifier=2800575123456', ['p1']],
        ['Patient', 'identifier=urn:oid:1.2.250.1.213.1.4.8|', ['p1', 'p2']],
        ['Patient', 'identifier=|2800575123456', []],
        ['Patient', 'identifier=urn:other|2800575123456', []],
        ['Patient', 'identifier:text=nir', ['p1']],
        ['Patient', 'active=true', ['p1']],
        ['Patient', 'active=false', ['p2']],
        ['Patient', 'active:missing=true', ['p3', 'p4']],
        ['Patient', 'deceased=true', ['p3']],
        ['Patient', 'email=elodie@example.org', ['p1']],
        ['Patient', 'phone=%2B33600000001', ['p1']],
        ['Patient', 'telecom=email|elodie@example.org', ['p1']],
        ['Observation', 'code=http://loinc.org|8480-6', ['obs1', 'obs2', 'obs4']],
        ['Observation', 'code=8480-6&status=final', ['obs1', 'obs2']],
        ['Observation', 'code:text=tension', ['obs1']],
        ['Observation', 'code:text=Systolic', ['obs1']],
        ['Observation', 'status:not=final', ['obs4']],
        ['Patient', '_tag=urn:carnet:tag|vip', ['p1']],
        ['Patient', '_tag:missing=true', ['p2', 'p3', 'p4']],
        ['Patient', '_security=R', ['p1']],
        ['Patient', '_id=p2,p3', ['p2', 'p3']],
        ['Patient', '_id:not=p1', ['p2', 'p3', 'p4']],
        ['DocumentReference', 'contenttype=application/pdf&status=current', ['d1', 'd3', 'd4', 'd5']],
        ['Encounter', 'class=http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB', ['e1']],
      ]),
    ],
    [
      'date',
      cases([
        ['Patient', 'birthdate=1980-05-15', ['p1']],
        ['Patient', 'birthdate=eq1980', ['p1']],
        ['Patient', 'birthdate=1975-06', []],
        ['Patient', 'birthdate=1975', ['p2']],
        ['Patient', 'birthdate=ge1980-05-15', ['p1', 'p3']],
        ['Patient', 'birthdate=gt1980-05-15', ['p3']],
        ['Patient', 'birthdate=lt1980', ['p2']],
        ['Patient', 'birthdate=le1975-06-01', ['p2']],
        ['Patient', 'birthdate=sa1979', ['p1', 'p3']],
        ['Patient', 'birthdate=eb1980-05-15', ['p2']],
        ['Patient', 'birthdate=ne1980-05-15', ['p2', 'p3']],
        ['Patient', 'birthdate=ap2010-01-01', ['p3']],
        ['Patient', 'birthdate=1980-05-15T10:00:00Z', []],
        ['Patient', 'birthdate=gt1980-05-15T10:00:00Z', ['p1', 'p3']],
        ['Patient', 'birthdate=ge1970&birthdate=lt1980', ['p2']],
        ['Patient', 'birthdate:missing=true', ['p4']],
        ['Patient', 'death-date=2020-02-02', ['p3']],
        ['Observation', 'date=2024-01-10', ['obs1', 'obs4']],
        ['Observation', 'date=2024-01', ['obs1', 'obs4']],
        ['Observation', 'date=2024-02-02', []],
        ['Observation', 'date=ge2024-02-02', ['obs2']],
        ['Observation', 'date=lt2024-01-10', ['obs3']],
        ['Observation', 'date=2024', ['obs1', 'obs2', 'obs4']],
        ['Observation', 'date=2023-06,2024-02', ['obs2', 'obs3']],
        ['Observation', 'date=2024-01-10T11:00:00%2B01:00', ['obs1']],
        ['Observation', 'date=eb2024-01-10', ['obs3']],
        ['DocumentReference', 'date=2023-12-24', ['d2']],
        ['Patient', '_lastUpdated=gt2000', ['p1', 'p2', 'p3', 'p4']],
        ['Patient', '_lastUpdated=lt2000', []],
      ]),
    ],
    [
      'number',
      cases([
        ['RiskAssessment', 'probability=0.25', ['ra1']],
        ['RiskAssessment', 'probability=0.3', ['ra1']],
        ['RiskAssessment', 'probability=0.30', []],
        ['RiskAssessment', 'probability=gt0.5', ['ra2']],
        ['RiskAssessment', 'probability=lt0.2', ['ra3']],
        ['RiskAssessment', 'probability=ge0.8', ['ra2']],
        ['RiskAssessment', 'probability=le0.25', ['ra1', 'ra3']],
        ['RiskAssessment', 'probability=ap0.75', ['ra2']],
        ['RiskAssessment', 'probability=sa0.3', ['ra2']],
        ['RiskAssessment', 'probability=eb0.3', ['ra1']],
        ['RiskAssessment', 'probability=ne0.25', ['ra2', 'ra3']],
        ['RiskAssessment', 'probability=8e-1', ['ra2']],
      ]),
    ],
    [
      'quantity',
      cases([
        ['Observation', 'value-quantity=120', ['obs1']],
        ['Observation', 'value-quantity=gt100', ['obs1', 'obs2']],
        ['Observation', 'value-quantity=ge100|http://unitsofmeasure.org|mm[Hg]', ['obs1', 'obs2']],
        ['Observation', 'value-quantity=100||mmHg', ['obs4']],
        ['Observation', 'value-quantity=lt130||mm[Hg]', ['obs1']],
        ['Observation', 'value-quantity=140.5', ['obs2']],
        ['Observation', 'value-quantity=ap82|http://unitsofmeasure.org|kg', ['obs3']],
        ['Encounter', 'length=45', ['e1']],
      ]),
    ],
    [
      'uri',
      cases([
        ['Questionnaire', 'url=http://example.org/Questionnaire/phq9', ['q1']],
        ['Questionnaire', 'url:below=http://example.org/Questionnaire/phq9', ['q1', 'q2']],
        ['Questionnaire', 'url:above=http://example.org/Questionnaire/phq9/short/v2', ['q1', 'q2']],
        ['Patient', `_profile=${PROFILE}`, ['p1']],
        ['Patient', '_profile:below=https://carnet.example.org/fhir/StructureDefinition/', ['p1', 'p3']],
      ]),
    ],
    [
      'reference',
      cases([
        ['DocumentReference', 'subject=Patient/p1', ['d1', 'd2']],
        ['DocumentReference', 'subject=p1', ['d1', 'd2']],
        ['DocumentReference', 'subject:Patient=p2', ['d3']],
        ['DocumentReference', 'patient=p3', ['d5']],
        ['DocumentReference', 'subject=http://carnet.test/fhir/Patient/p1', ['d1', 'd2']],
        ['DocumentReference', 'subject=http://other.example/fhir/Patient/p1', ['d4']],
        ['DocumentReference', 'subject=Patient/p1/_history/1', ['d1', 'd2']],
        ['DocumentReference', 'author=Practitioner/pr1', ['d1', 'd3']],
        ['DocumentReference', 'author=pr1,pr2', ['d1', 'd2', 'd3']],
        ['DocumentReference', 'patient=p1&author=pr2', ['d2']],
        ['Patient', 'general-practitioner=pr1', ['p1', 'p3']],
        ['Patient', 'organization:missing=true', ['p3', 'p4']],
        ['Organization', 'partof=o1', ['o2']],
        ['Encounter', 'subject:identifier=urn:oid:1.2.250.1.213.1.4.8|2800575123456', ['e1']],
        ['QuestionnaireResponse', 'questionnaire=http://example.org/Questionnaire/phq9', ['qr1']],
        ['QuestionnaireResponse', 'questionnaire=http://example.org/Questionnaire/phq9|1.0', ['qr1']],
        ['QuestionnaireResponse', 'questionnaire=http://example.org/Questionnaire/phq9/short', ['qr2']],
      ]),
    ],
  ])('%s', (_kind, rows) => {
    it.each(rows)('%s?%s', async (type, query, expected) => {
      expect(sorted(await b.ids(type, query))).toEqual(sorted(expected));
    });
  });

  it.each([
    ['_id=p1', ['Patient/p1']],
    ['_type=Practitioner,Organization', ['Organization/o1', 'Organization/o2', 'Practitioner/pr1', 'Practitioner/pr2']],
    ['_type=Patient&_tag=vip', ['Patient/p1']],
    ['_profile=https://carnet.example.org/fhir/StructureDefinition/other', ['Patient/p3']],
  ])('system search ?%s', async (query, expected) => {
    expect(sorted(await b.ids(undefined, query))).toEqual(sorted(expected));
  });

  it('ignores parameters with empty values', async () => {
    expect(sorted(await b.ids('Patient', 'name=&gender=male'))).toEqual(['p2', 'p4']);
  });

  it('does not match deleted resources', async () => {
    await b.put({ resourceType: 'Patient', id: 'gone', name: [{ family: 'Durandeau' }] });
    expect(await b.ids('Patient', 'family=durandeau')).toEqual(['gone']);
    await b.remove('Patient', 'gone');
    expect(await b.ids('Patient', 'family=durandeau')).toEqual([]);
  });

  it('re-indexes an update: old values no longer match', async () => {
    await b.put({ resourceType: 'Patient', id: 'moving', address: [{ city: 'Brest' }] });
    await b.put({ resourceType: 'Patient', id: 'moving', address: [{ city: 'Nantes' }] });
    expect(await b.ids('Patient', 'address-city=brest')).toEqual([]);
    expect(await b.ids('Patient', 'address-city=nantes')).toEqual(['moving']);
  });
});
