/**
 * The grid served read-only as FHIR (CONTRACT §4.1): a ConceptMap from
 * professions (TRE_G15) to the document types each may read, one group per
 * document type system. Built from the grid file alone; never decides access.
 */
import type { ConceptMap, ConceptMapGroup } from 'fhir/r4';
import { AuthorizationGrid, type GridFile } from './grid';
import { CARNET } from './vocabulary';

const LOINC_CODE = /^\d{1,8}-\d$/;
const LOINC_SYSTEM = 'http://loinc.org';
const ANS_TYPE_SYSTEM = 'https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire';

/** LOINC codes look like `11488-4`; every other code of the grid is an ANS complementary type (TRE_A05). */
export function typeSystemOf(code: string): string {
  return LOINC_CODE.test(code) ? LOINC_SYSTEM : ANS_TYPE_SYSTEM;
}

export function gridConceptMap(file: GridFile): ConceptMap {
  const grid = new AuthorizationGrid(file);
  const groups = new Map<string, ConceptMapGroup>();
  for (const [profession, row] of Object.entries(file.professions)) {
    const readable = [...grid.rightOf([profession]).allowed].sort();
    for (const code of readable) {
      const system = typeSystemOf(code);
      let group = groups.get(system);
      if (!group) groups.set(system, (group = { source: file.professionSystem, target: system, element: [] }));
      let element = group.element.find((e) => e.code === profession);
      if (!element) group.element.push((element = { code: profession, display: row.display, target: [] }));
      element.target?.push({ code, equivalence: 'relatedto' });
    }
  }
  const unlisted = file.unlistedTypesReadableBy.join(', ');
  return {
    resourceType: 'ConceptMap',
    id: 'authorization-grid',
    url: `${CARNET}/ConceptMap/authorization-grid`,
    version: file.version ?? '0.1.0',
    name: 'AuthorizationGrid',
    title: 'Carnet authorization grid: document types each health profession may read',
    status: 'active',
    experimental: false,
    publisher: 'Carnet',
    description:
      `Generated from terminology/authorization-grid.json by scripts/grid-to-conceptmap.ts: each source code (TRE_G15 profession) maps to the document types (DocumentReference.type) it may read. ` +
      `A document is readable when every one of its type codes is; a type listed nowhere here is readable by professions ${unlisted} only; a profession absent from the map reads no document.`,
    sourceUri: file.professionSystem,
    group: [...groups.values()],
  };
}
