/**
 * The authorization grid (CONTRACT §4.1): loads terminology/authorization-grid.json
 * and answers "may these professions read a document with these type keys?".
 * The grid is data: a new row, code or category needs no code change.
 *
 * A document's grid keys are the codes of its `type` codings in a document
 * type system of the grid (LOINC, TRE_A05, JDV_J66); codings of other systems
 * are ignored; a document with no such coding has the single key `#unlisted`.
 * A document is readable when EVERY key is readable: a key listed by the
 * profession's categories (minus its exceptions), or a key listed nowhere in
 * the grid when the profession reads unlisted types (médecins).
 * Never widens a right: an unknown profession reads nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CodeableConcept } from 'fhir/r4';

export const UNLISTED_KEY = '#unlisted';

export interface GridFile {
  version?: string;
  professionSystem: string;
  typeSystems: string[];
  unlistedTypesReadableBy: string[];
  categories: Record<string, { display?: string; codes: string[] }>;
  professions: Record<string, { display?: string; categories: string[]; except?: string[] }>;
}

/** What a set of professions may read, in the two forms the SQL uses. */
export interface GridRight {
  /** Keys readable because listed (union over the professions). */
  allowed: ReadonlySet<string>;
  /** True when one profession reads types listed nowhere in the grid. */
  readsUnlisted: boolean;
  /** Listed keys not readable (used when readsUnlisted: everything else is). */
  forbidden: ReadonlySet<string>;
}

export const GRID_FILE = path.resolve(__dirname, '..', '..', 'terminology', 'authorization-grid.json');

export class AuthorizationGrid {
  private readonly known = new Set<string>();
  private readonly byProfession = new Map<string, Set<string>>();
  private readonly typeSystems: ReadonlySet<string>;
  private readonly unlistedReaders: ReadonlySet<string>;
  private readonly rights = new Map<string, GridRight>();

  constructor(readonly file: GridFile) {
    for (const [name, category] of Object.entries(file.categories)) {
      if (!Array.isArray(category.codes)) throw new Error(`authorization grid: category ${name} has no codes`);
      for (const code of category.codes) this.known.add(code);
    }
    for (const [profession, row] of Object.entries(file.professions)) {
      const codes = new Set<string>();
      for (const name of row.categories) {
        const category = file.categories[name];
        if (!category) throw new Error(`authorization grid: profession ${profession} names unknown category ${name}`);
        category.codes.forEach((code) => codes.add(code));
      }
      for (const code of row.except ?? []) codes.delete(code);
      this.byProfession.set(profession, codes);
    }
    this.typeSystems = new Set(file.typeSystems);
    this.unlistedReaders = new Set(file.unlistedTypesReadableBy);
  }

  static load(file: string = GRID_FILE): AuthorizationGrid {
    return new AuthorizationGrid(JSON.parse(fs.readFileSync(file, 'utf8')) as GridFile);
  }

  /** The grid keys of a DocumentReference.type (see the module header). */
  keysOf(type: CodeableConcept | undefined): string[] {
    const keys = new Set<string>();
    for (const coding of type?.coding ?? []) {
      if (coding.system && coding.code && this.typeSystems.has(coding.system)) keys.add(coding.code);
    }
    return keys.size > 0 ? [...keys].sort() : [UNLISTED_KEY];
  }

  /** Every listed key (the ConceptMap and tests use it). */
  listedKeys(): string[] {
    return [...this.known].sort();
  }

  professions(): string[] {
    return [...this.byProfession.keys()];
  }

  /** The right of the union of these professions (cached per distinct set). */
  rightOf(professions: readonly string[]): GridRight {
    const key = [...new Set(professions)].sort().join(',');
    let right = this.rights.get(key);
    if (!right) {
      const allowed = new Set<string>();
      for (const profession of professions) this.byProfession.get(profession)?.forEach((code) => allowed.add(code));
      const readsUnlisted = professions.some((profession) => this.unlistedReaders.has(profession));
      const forbidden = new Set([...this.known].filter((code) => !allowed.has(code)));
      right = { allowed, readsUnlisted, forbidden };
      this.rights.set(key, right);
    }
    return right;
  }

  /** May these professions read a document with these grid keys? */
  allows(professions: readonly string[], keys: readonly string[]): boolean {
    if (keys.length === 0) return false;
    const right = this.rightOf(professions);
    return keys.every((key) => right.allowed.has(key) || (right.readsUnlisted && !this.known.has(key)));
  }
}
