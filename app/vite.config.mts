/**
 * The patient's web application (CONTRACT §10), built by `npm run build` into dist/app
 * (or APP_BUILD_DIR, the browser tests' temporary folder) and served by Carnet at /app/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/app/',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: process.env.APP_BUILD_DIR ? path.resolve(process.env.APP_BUILD_DIR) : path.resolve(here, '..', 'dist', 'app'),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
