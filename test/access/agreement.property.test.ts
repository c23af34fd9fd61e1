/**
 * The agreement property (STYLE.md, issue 4): on random worlds, for every
 * caller, the pure decision and the SQL form agree on every row — current
 * rows of any type and of each type, every version in history — and the
 * caller's session (production's search engine and policy, on the test
 * server) returns exactly what the decision allows (matches, `_include`, `_revinclude`, totals, full pages),
 * serves Lists without the entries naming what the decision hides (or nothing), and answers a PUT
 * under a hidden id exactly as under an id never used — also in the worlds where patients closed
 * their space (CONTRACT §7), whose rows then agree as absent for every caller. And the operations
 * (world-operations.ts): `$access` tells each document's patient what the decision gives every
 * practitioner it lists, in TREAT, ETREAT and BTG; an ITI-68 raw Binary read answers the bytes iff
 * the decision allows, a hidden Binary exactly as one never written; an ITI-65 replacement of a
 * document hidden from its submitter answers as one of an id never written, and changes nothing.
 * ACCESS_STATS=1 prints the decisions' reasons, the operations' outcomes and where the time went.
 * Fixed seed, ACCESS_WORLDS worlds (default 200, 40 with DATABASE_URL); scripts/access-property.ts
 * runs the same property on 10,000 worlds.
 *
 * @slow — three to four minutes on two cores
 */
import fc from 'fast-check';
import { AuthorizationGrid } from '../../src/access/grid';
import { startTestServer, type TestServer } from '../support/server';
import { clearWorld, disagreements, World, worldArbitrary } from './world';
import { timed } from './world-operations';

// 200 worlds on the embedded PostgreSQL; on a server with durable commits (DATABASE_URL) each world's
// writes cost an fsync apiece, so 40 there (scripts/access-property.ts runs 10,000 on either).
const WORLDS = Number(process.env.ACCESS_WORLDS ?? (process.env.DATABASE_URL ? 40 : 200));
const SEED = Number(process.env.ACCESS_SEED ?? 20261126);

describe('decide() and its SQL form agree on random worlds', () => {
  let server: TestServer;
  const grid = AuthorizationGrid.load();
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const stats = new Map<string, number>();
  afterAll(() => {
    if (process.env.ACCESS_STATS) process.stdout.write(`${[...stats].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n}\t${reason}`).join('\n')}\n`);
  });

  it(`finds no disagreement in ${WORLDS} worlds (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(worldArbitrary(), async (spec) => {
        await clearWorld(server);
        const world = new World(spec, server, grid);
        await timed(stats, 'world build', () => world.build());
        const found = await timed(stats, 'every check', () => disagreements(world, server, stats));
        if (found.length > 0) throw new Error(`${found.length} disagreements, first: ${JSON.stringify(found.slice(0, 3))}`);
      }),
      { seed: SEED, numRuns: WORLDS, endOnFailure: process.env.ACCESS_SHRINK !== '1' },
    );
  }, 600_000);
});
