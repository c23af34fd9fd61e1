/**
 * The layering of src/ (docs/ARCHITECTURE.md), checked by `npm run deps`
 * (part of `npm test`):
 * - no module cycles, and each folder imports only the layers below it
 *   (LAYERS), so no folder imports another that imports it back;
 * - only src/store talks to the database driver (pg, knex);
 * - only src/http talks to Express and its middleware.
 */
const LAYERS = {
  kernel: [], // FHIR types and definitions, errors, references, the compartment, the ports
  store: ['kernel'],
  search: ['kernel', 'store'],
  validation: ['kernel'],
  identity: ['kernel', 'store', 'config'],
  access: ['kernel', 'store', 'identity'],
  audit: ['kernel', 'store', 'access', 'mhd'],
  notify: ['kernel', 'store'],
  conformance: ['kernel', 'search'],
  terminology: ['kernel'], // the terminology operations over terminology/ (CodeSystem/$lookup, ValueSet/$expand…)
  mhd: ['kernel'], // IHE MHD: what an ITI-65 submission is and the rules binding its entries (pure)
  api: ['kernel', 'store', 'search', 'access', 'audit', 'conformance', 'identity', 'terminology', 'mhd'],
  accounts: ['kernel', 'store', 'search', 'access', 'audit', 'identity', 'notify', 'api', 'validation', 'config'],
  http: ['kernel'],
};

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'modules (and so folders) never import each other in a circle', from: { path: '^src/' }, to: { circular: true } },
    // The layers, bottom up: a folder imports only the folders listed for it (so no folder cycles).
    ...Object.entries(LAYERS).map(([folder, allowed]) => ({
      name: `layer-${folder}`,
      severity: 'error',
      comment: `src/${folder} may import only ${allowed.length ? allowed.join(', ') : 'nothing of the project'}`,
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: [`^src/${folder}/`, ...allowed.map((name) => `^src/${name}(/|\\.ts$)`)] },
    })),
    { name: 'only-store-talks-to-the-driver', severity: 'error', from: { path: '^src/', pathNot: '^src/store/' }, to: { path: 'node_modules/(pg|pg-[a-z-]+|knex)/' } },
    { name: 'only-http-talks-to-express', severity: 'error', from: { path: '^src/', pathNot: '^src/http/' }, to: { path: 'node_modules/(express|helmet|cors|compression|express-rate-limit|@types/express)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Migrations are history, not a layer: one (…_access_facts) re-indexed the rows that existed
    // then with the access indexer. They are run by knex only, never imported by src/.
    exclude: { path: '^src/store/migrations/' },
  },
};
