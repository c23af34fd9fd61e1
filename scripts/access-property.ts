/**
 * The agreement property of test/access/agreement.property.test.ts on many
 * more worlds (default 10,000): `node --import tsx scripts/access-property.ts
 * [--worlds N] [--seed S]`. DATABASE_URL, or the embedded PostgreSQL in
 * DATA_DIR (default ./data/access-property, port ACCESS_PROPERTY_PG_PORT or 54354).
 * Carnet is built as the tests build it (test/support/server.ts: the
 * production composition) on that database. Prints progress, and on failure
 * the shrunk counterexample and the disagreements.
 */
import path from 'node:path';
import fc from 'fast-check';
import { startEmbedded, type EmbeddedDatabase } from '../src/store/embedded';
import { AuthorizationGrid } from '../src/access/grid';
import { startTestServer } from '../test/support/server';
import { clearWorld, disagreements, World, worldArbitrary } from '../test/access/world';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const WORLDS = option('worlds', 10000);
const SEED = option('seed', 20261126);

async function main(): Promise<void> {
  let embedded: EmbeddedDatabase | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbedded(path.resolve(process.env.DATA_DIR ?? './data/access-property'), Number(process.env.ACCESS_PROPERTY_PG_PORT ?? 54354));
    url = await embedded.ensureDatabase('carnet_access_property');
  }
  const server = await startTestServer({}, { database: { url, drop: async () => {} } });
  const grid = AuthorizationGrid.load();
  const started = Date.now();
  let done = 0;
  let checks = 0;
  try {
    await fc.assert(
      fc.asyncProperty(worldArbitrary(), async (spec) => {
        await clearWorld(server);
        const world = new World(spec, server, grid);
        await world.build();
        const found = await disagreements(world, server);
        checks += world.callers.length * world.rows.size;
        if (++done % 100 === 0) process.stdout.write(`\r  ${done}/${WORLDS} worlds, ${checks} (caller, row) pairs, ${((Date.now() - started) / 1000).toFixed(0)} s   `);
        if (found.length > 0) throw new Error(`${found.length} disagreements: ${JSON.stringify(found.slice(0, 5), null, 1)}`);
      }),
      { seed: SEED, numRuns: WORLDS },
    );
    console.log(`\n  no disagreement in ${WORLDS} worlds (seed ${SEED}), ${checks} (caller, current row) pairs, each also checked per type, in history and through search/_include/_revinclude`);
  } finally {
    await server.close();
    await embedded?.stop();
  }
}

main().catch((error) => {
  console.error(`\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
