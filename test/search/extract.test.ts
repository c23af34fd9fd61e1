/** Index rows of one resource (extract.ts): what each parameter type writes. */
import type { Resource } from 'fhir/r4';
import { extractRows } from '../../src/search/extract';
import { baseRegistry } from '../../src/search/parameters';
import { DATA, BASE } from './fixtures';

const rowsOf = (resource: Resource) => extractRows(baseRegistry(), resource, BASE);
const byId = (id: string) => DATA.find((r) => r.id === id) as unknown as Resource;

describe('extractRows', () => {
  it('writes one string row per name part, normalised and exact', () => {
    const rows = rowsOf(byId('p1')).string.filter((r) => r.param === 'name');
    expect(rows).toEqual(
      expect.arrayContaining([
        { param: 'name', value_normalized: 'durand', value_exact: 'Durand' },
        { param: 'name', value_normalized: 'elodie', value_exact: 'Élodie' },
        { param: 'name', value_normalized: 'marie', value_exact: 'Marie' },
      ]),
    );
  });

  it('writes tokens for codings, identifiers, contact points, codes and booleans', () => {
    const tokens = rowsOf(byId('p1')).token;
    expect(tokens).toEqual(
      expect.arrayContaining([
        { param: 'identifier', system: 'urn:oid:1.2.250.1.213.1.4.8', code: '2800575123456', text: 'nir' },
        { param: 'email', system: 'email', code: 'elodie@example.org', text: null },
        { param: 'gender', system: null, code: 'female', text: null },
        { param: 'active', system: null, code: 'true', text: null },
        { param: '_tag', system: 'urn:carnet:tag', code: 'vip', text: null },
      ]),
    );
    const code = rowsOf(byId('obs1')).token.filter((r) => r.param === 'code');
    expect(code).toEqual([
      { param: 'code', system: 'http://loinc.org', code: '8480-6', text: 'systolic blood pressure' },
      { param: 'code', system: null, code: null, text: 'tension systolique' },
    ]);
  });

  it('writes references as local type/id, foreign URLs as url, identifiers alongside', () => {
    expect(rowsOf(byId('d5')).reference.find((r) => r.param === 'subject')).toMatchObject({ target_type: 'Patient', target_id: 'p3', url: null });
    expect(rowsOf(byId('d4')).reference.find((r) => r.param === 'subject')).toMatchObject({ target_type: 'Patient', target_id: 'p1', url: 'http://other.example/fhir/Patient/p1' });
    expect(rowsOf(byId('e1')).reference.find((r) => r.param === 'subject')).toMatchObject({ target_id: 'p1', ident_value: '2800575123456' });
    expect(rowsOf(byId('qr1')).reference.find((r) => r.param === 'questionnaire')).toMatchObject({ url: 'http://example.org/Questionnaire/phq9|1.0' });
  });

  it('writes dates as ranges, periods with open ends, numbers and quantities as [lo, hi]', () => {
    expect(rowsOf(byId('obs2')).date.find((r) => r.param === 'date')).toEqual({ param: 'date', lo: '2024-02-01T00:00:00.000000Z', hi: '2024-02-03T23:59:59.999999Z' });
    expect(rowsOf({ resourceType: 'Encounter', status: 'planned', class: {}, period: { start: '2024' } } as unknown as Resource).date).toEqual([
      { param: 'date', lo: '2024-01-01T00:00:00.000000Z', hi: 'infinity' },
    ]);
    expect(rowsOf(byId('ra3')).number).toEqual([{ param: 'probability', lo: '0.1', hi: '0.3' }]);
    expect(rowsOf(byId('obs1')).quantity.find((r) => r.param === 'value-quantity')).toEqual({
      param: 'value-quantity', system: 'http://unitsofmeasure.org', code: 'mm[Hg]', unit: 'mmHg', lo: '120', hi: '120',
    });
  });

  it('skips _id and _lastUpdated (columns of resources), composites, and never throws on odd data', () => {
    const rows = rowsOf({ ...byId('p1'), birthDate: 'not a date', name: [{ family: 42 }] } as unknown as Resource);
    const params = Object.values(rows).flatMap((table: { param: string }[]) => table.map((r) => r.param));
    expect(params).not.toContain('_id');
    expect(params).not.toContain('_lastUpdated');
    expect(params).not.toContain('birthdate');
    expect(rowsOf(byId('obs1')).token.map((r) => r.param)).not.toContain('code-value-quantity');
  });
});
