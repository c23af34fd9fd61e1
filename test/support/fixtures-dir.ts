/** Where the shared fixtures are: `../shared/fixtures` beside the repository (CARNET_FIXTURES overrides). */
import path from 'node:path';

export const FIXTURES = process.env.CARNET_FIXTURES ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
