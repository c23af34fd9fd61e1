/**
 * Planner statistics right after a large transaction Bundle (store/statistics.ts):
 * the tables it filled are analysed at once, not when autovacuum comes by a
 * minute later; a small Bundle analyses nothing.
 */
import { startTestServer, type TestServer } from '../support/server';

const bundleOf = (entries: number, tag: string) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: Array.from({ length: entries }, (_, i) => ({ resource: { resourceType: 'Location', name: `${tag}-${i}` }, request: { method: 'POST', url: 'Location' } })),
});

describe('ANALYZE after large writes', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await server.systemToken('loader');
  });
  afterAll(() => server.close());

  /** The rows PostgreSQL's planner believes `resources` holds, and when Carnet last analysed it. */
  async function planned(): Promise<{ reltuples: number; analysed: Date | null }> {
    const result = await server.carnet.sql.query<{ reltuples: number; analysed: Date | null }>(
      `SELECT c.reltuples::float8 AS reltuples, s.last_analyze AS analysed FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = 'resources'`,
    );
    return result.rows[0];
  }

  async function settle(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  it.each([
    ['a Bundle of 20 entries leaves the statistics alone', 20, false],
    ['a Bundle of 600 entries is analysed right after its commit', 600, true],
  ])('%s', async (_name, entries, analysed) => {
    const before = await planned();
    const res = await server.request.post('/fhir').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(bundleOf(entries, `t${entries}`)));
    expect(res.status).toBe(200);
    let after = await planned();
    for (let i = 0; i < 50 && analysed && after.analysed?.getTime() === before.analysed?.getTime(); i++) {
      await settle(100);
      after = await planned();
    }
    if (!analysed) await settle(500);
    after = await planned();
    expect(after.analysed?.getTime() !== before.analysed?.getTime()).toBe(analysed);
    if (analysed) expect(after.reltuples).toBeGreaterThanOrEqual(entries);
  });
});
