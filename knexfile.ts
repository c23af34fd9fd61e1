/** knex CLI configuration: `npx knex migrate:latest` uses DATABASE_URL (npm run migrate also handles the embedded database). */
import { knexConfig } from './src/store/db';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('knexfile: set DATABASE_URL (or use `npm run migrate`, which starts the embedded PostgreSQL)');

export default knexConfig(url);
