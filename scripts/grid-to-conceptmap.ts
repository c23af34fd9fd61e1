/**
 * Regenerates terminology/authorization-grid.conceptmap.json from
 * terminology/authorization-grid.json (run after editing the grid):
 *   node --import tsx scripts/grid-to-conceptmap.ts
 * test/access/grid.test.ts fails while the two disagree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GRID_FILE, type GridFile } from '../src/access/grid';
import { gridConceptMap } from '../src/access/grid-conceptmap';

const target = path.join(path.dirname(GRID_FILE), 'authorization-grid.conceptmap.json');
const file = JSON.parse(fs.readFileSync(GRID_FILE, 'utf8')) as GridFile;
fs.writeFileSync(target, `${JSON.stringify(gridConceptMap(file), null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
