/** Bad values → 400 naming the parameter; unknown parameters under strict and lenient handling. */
import { seeded, params, type SearchServer } from './fixtures';
import { FhirError } from '../../src/kernel/errors';
import { allowAll } from '../../src/kernel/predicate';

describe('bad searches', () => {
  let b: SearchServer;
  beforeAll(async () => {
    b = await seeded();
  });
  afterAll(() => b.close());

  async function failure(type: string | undefined, query: string, handling: 'strict' | 'lenient' = 'lenient'): Promise<FhirError> {
    try {
      await b.search(type, query, { handling });
    } catch (error) {
      if (error instanceof FhirError) return error;
      throw error;
    }
    throw new Error(`${type}?${query} did not fail`);
  }

  it.each([
    ['Patient', 'birthdate=1980-13', 'birthdate'],
    ['Patient', 'birthdate=xx1980', 'birthdate'],
    ['Patient', 'birthdate=ge', 'birthdate'],
    ['Patient', 'birthdate:exact=1980', 'birthdate:exact'],
    ['Patient', 'birthdate:missing=maybe', 'birthdate:missing'],
    ['RiskAssessment', 'probability=abc', 'probability'],
    ['RiskAssessment', 'probability=zz0.5', 'probability'],
    ['Observation', 'value-quantity=1|http://unitsofmeasure.org', 'value-quantity'],
    ['Patient', 'identifier=a|b|c', 'identifier'],
    ['Patient', 'name:foo=x', 'name:foo'],
    ['Patient', 'name:exact=a,', 'name:exact'],
    ['Patient', 'gender:below=x', 'gender:below'],
    ['Patient', 'gender:in=http://hl7.org/fhir/ValueSet/administrative-gender', 'gender:in'],
    ['DocumentReference', 'subject=Patient%3Fidentifier%3Dx', 'subject'],
    ['DocumentReference', 'subject:Organization=o1', 'subject:Organization'],
    ['DocumentReference', 'subject:Nope=o1', 'subject:Nope'],
    ['DocumentReference', 'subject.nonexistent=x', 'subject.nonexistent'],
    ['DocumentReference', 'status.name=x', 'status.name'],
    ['DocumentReference', 'subject:Patient.birthdate=never', 'subject:Patient.birthdate'],
    ['Patient', '_has:Observation:foo:code=1', '_has:Observation:foo:code'],
    ['Patient', '_has:Observation=1', '_has:Observation'],
    ['Patient', '_has:Nope:subject:code=1', '_has:Nope:subject:code'],
    ['Patient', '_lastUpdated=yesterday', '_lastUpdated'],
    ['Patient', '_count=-1', '_count'],
    ['Patient', '_count=ten', '_count'],
    ['Patient', '_total=maybe', '_total'],
    ['Patient', '_summary=nope', '_summary'],
    ['Patient', '_sort=nonexistent', '_sort'],
    ['Patient', '_sort=general-practitioner.name', '_sort'],
    ['Patient', '_include=Patient:name', '_include'],
    ['Patient', '_include=Nope:subject', '_include'],
    ['Patient', '_revinclude:deep=Observation:subject', '_revinclude:deep'],
    ['Patient', '_cursor=garbage', '_cursor'],
    [undefined, '_type=Nope', '_type'],
    ['Patient', 'birthdate=0000', 'birthdate'],
    ['RiskAssessment', 'probability=1e99999', 'probability'],
    ['Patient', `_id=${Array.from({ length: 1001 }, (_, i) => `x${i}`).join(',')}`, '_id'],
    ['DocumentReference', 'patient.organization.partof.partof.partof.partof.name=x', 'patient.organization.partof.partof.partof.partof.name'],
  ])('%s?%s → 400 naming %s', async (type, query, expression) => {
    const error = await failure(type, query);
    expect(error.status).toBe(400);
    expect(error.issues[0].expression).toEqual([expression]);
  });

  it('answers 400, not 500, to a tampered cursor or too many parameters', async () => {
    const forged = Buffer.from(JSON.stringify({ v: 1, d: 'n', s: 'birthdate', k: ['not a date'], r: 1 })).toString('base64url');
    await expect(b.search('Patient', `_sort=birthdate&_cursor=${forged}`)).rejects.toMatchObject({ status: 400 });
    await expect(b.search('Patient', Array.from({ length: 101 }, (_, i) => `gender=g${i}`).join('&'))).rejects.toMatchObject({ status: 400 });
  });

  it('refuses a cursor made for another _sort', async () => {
    const first = await b.search('Patient', '_count=1&_sort=family');
    const cursor = first.next!.find(([k]) => k === '_cursor')![1];
    await expect(b.search('Patient', `_count=1&_sort=birthdate&_cursor=${cursor}`)).rejects.toMatchObject({ status: 400 });
  });

  it.each([
    ['Patient', 'foo=bar', 'foo'],
    ['Patient', '_text=durand', '_text'],
    ['Patient', '_content=durand', '_content'],
    ['Observation', 'code-value-quantity=8480-6$gt100', 'code-value-quantity'],
    ['Patient', '_type=Patient', '_type'],
    [undefined, 'family=durand', 'family'],
  ])('strict: %s?%s → 400 naming %s', async (type, query, expression) => {
    const error = await failure(type, query, 'strict');
    expect(error.status).toBe(400);
    expect(error.issues.map((i) => i.expression?.[0])).toContain(expression);
  });

  it('lenient (default): ignores unknown parameters, warns, and drops them from the self link', async () => {
    const result = await b.search('Patient', 'foo=bar&gender=male&_text=x');
    expect(result.matches.map((r) => r.id).sort()).toEqual(['p2', 'p4']);
    expect(result.selfQuery).toEqual([['gender', 'male']]);
    expect(result.outcome?.issue.map((i) => [i.severity, i.expression?.[0]])).toEqual([
      ['warning', 'foo'],
      ['warning', '_text'],
    ]);
  });

  it('match() (conditional operations) is strict and unpaged', async () => {
    await expect(b.engine.match('Patient', params('foo=bar'), allowAll, 2)).rejects.toMatchObject({ status: 400 });
    expect((await b.engine.match('Patient', params('gender=male'), allowAll, 10)).map((r) => r.id).sort()).toEqual(['p2', 'p4']);
    expect(await b.engine.match('Patient', params('identifier=urn:oid:1.2.250.1.213.1.4.8|2800575123456'), allowAll, 2)).toHaveLength(1);
    expect(await b.engine.match('Patient', params('gender=male,female'), allowAll, 2)).toHaveLength(2);
  });

  it('match() has a predicate for its own type only: chains and _has into other types see nothing', async () => {
    expect(await b.engine.match('DocumentReference', params('patient.gender=male'), allowAll, 10)).toEqual([]);
    expect(await b.engine.match('Patient', params('_has:Observation:subject:code=8480-6'), allowAll, 10)).toEqual([]);
    expect((await b.engine.match('Organization', params('_has:Organization:partof:name=clinique'), allowAll, 10)).map((r) => r.id)).toEqual(['o1']);
  });

  it('treats SQL-looking values as plain values', async () => {
    expect(await b.ids('Patient', "name=x'%20OR%201=1--")).toEqual([]);
    expect(await b.ids('Patient', 'name=%25')).toEqual([]);
    expect(await b.ids('Patient', 'family:contains=_')).toEqual([]);
  });
});
