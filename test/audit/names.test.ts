/**
 * Which documents an AuditEvent names (audit_events.names, src/audit/names.ts):
 * a table of entities and query terms; then the agreement with the function
 * PostgreSQL used before migration 20261205000000 (the events stored before
 * it keep the names it computed, and hidden-events.ts must treat both alike):
 * generated entities, the same names from both.
 */
import fc from 'fast-check';
import { documentNames } from '../../src/audit/names';
import { DOCUMENT_NAMES_FUNCTION } from '../../src/store/migrations/20261202000100_audit_event_names';
import { testDatabase, type TestDatabase } from '../support/database';

const query = (text: string) => ({ query: Buffer.from(text, 'utf8').toString('base64') });
const names = (entity: unknown[]) => documentNames({ entity } as never);

describe('which documents an event names', () => {
  it.each<[string, boolean, unknown[]]>([
    ['an entity DocumentReference/D', true, [{ what: { reference: 'DocumentReference/d-1' } }]],
    ['an entity DocumentReference/D/_history/n', true, [{ what: { reference: 'DocumentReference/d-1/_history/3' } }]],
    ['an entity with an absolute reference', true, [{ what: { reference: 'http://carnet.test/fhir/DocumentReference/d-1/_history/1' } }]],
    ['an entity Binary/D', true, [{ what: { reference: 'Binary/d-1' } }]],
    ['an entity of another type with that id', false, [{ what: { reference: 'Observation/d-1' } }]],
    ['an entity whose type only ends like DocumentReference', false, [{ what: { reference: 'XDocumentReference/d-1' } }]],
    ['a query _id=D', true, [query('DocumentReference?_id=d-1')]],
    ['a query _id=A,D', true, [query('DocumentReference?_id=a-0%2Cd-1')]],
    ['a query naming D by reference', true, [query('List?item=DocumentReference%2Fd-1&patient=Patient%2Fx')]],
    ['a query naming D by an absolute, versioned reference', true, [query('DocumentReference?relatesto=http%3A%2F%2Fcarnet.test%2Ffhir%2FDocumentReference%2Fd-1%2F_history%2F2')]],
    ['a query with D in a token value', true, [query('DocumentReference?identifier=urn%3Aoid%3A1.2%7Cd-1')]],
    ['a query with D among non-ASCII text', true, [query('Observation?code:text=é d-1 ü')]],
    ['a query naming an id that only starts like D', false, [query('DocumentReference?_id=d-10')]],
    ['a query naming an id that contains D', false, [query('DocumentReference?_id=xd-1')]],
    ['a query that is not base64', false, [{ query: 'DocumentReference?_id=d-1' }]],
    ['a query whose base64 length is not a multiple of 4', false, [{ query: Buffer.from('_id=d-1').toString('base64').replace(/=+$/, '') + 'A' }]],
    ['an entity that is not an object', false, ['DocumentReference/d-1']],
  ])('%s → names D: %s', (_name, named, entity) => {
    expect(names(entity).includes('d-1')).toBe(named);
  });

  it('gives each id once, sorted, and no id longer than 64 characters', () => {
    const long = 'a'.repeat(65);
    expect(names([{ what: { reference: 'Binary/b' } }, query(`_id=b,a,${long},${'c'.repeat(64)}`), { what: { reference: `DocumentReference/${long}` } }])).toEqual(['a', 'b', 'c'.repeat(64), 'id']); // '_' cuts: 'id' is a term too
  });
});

describe('the same names as the function of migration 20261202000100', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase();
    await database.db.raw(DOCUMENT_NAMES_FUNCTION); // dropped by migration 20261205000000: back in this suite's own database
  });
  afterAll(() => database.drop());

  const pieces = ['DocumentReference', 'Binary', 'Patient', '/', '_history', 'd-1', 'D.2', 'é', '%2F', '%2', '\\', '\\101', '\\7', '7', '?', '=', ',', '|', ' ', 'http://x/fhir/', 'a'.repeat(64), 'b'.repeat(65)];
  const text = fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((parts) => parts.join(''));
  const entity = fc.oneof(
    text.map((reference) => ({ what: { reference } })),
    text.map((t) => query(t)),
    fc.uint8Array({ maxLength: 24 }).map((bytes) => ({ query: Buffer.from(bytes).toString('base64') })),
    text.map((t) => ({ query: t })),
    fc.constant({ what: { reference: 7 } }),
  );

  it('on generated entities', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entity, { maxLength: 4 }), async (entities) => {
        const event = { resourceType: 'AuditEvent', entity: entities };
        const { rows } = await database.db.raw<{ rows: { names: string[] }[] }>('SELECT audit_document_names(?::json) AS names', [JSON.stringify(event)]);
        expect(documentNames(event as never)).toEqual([...rows[0].names].sort());
      }),
      { numRuns: 300 },
    );
  });
});
