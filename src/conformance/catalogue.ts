/**
 * The read-only conformance resources: StructureDefinitions and
 * SearchParameters of profiles/, CodeSystems, ValueSets and ConceptMaps of
 * terminology/, the base SearchParameters, and the CapabilityStatement.
 * Served from memory; never written through the API (405).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource } from 'fhir/r4';
import type { QueryParams } from '../kernel/request';

/** The parameters a search of conformance resources filters on (exact match on the element of that name); others are ignored. */
export const CATALOGUE_SEARCH_PARAMETERS = ['_id', 'url', 'name', 'version', 'status', 'base', 'code', 'type'] as const;

export class ConformanceCatalogue {
  private readonly byType = new Map<string, Map<string, Resource>>();

  add(resource: Resource): void {
    if (!resource.id) return;
    let map = this.byType.get(resource.resourceType);
    if (!map) this.byType.set(resource.resourceType, (map = new Map()));
    map.set(resource.id, resource);
  }

  /** Loads every `*.json` resource (or Bundle of resources) in a folder tree. */
  loadDirectory(dir: string): void {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) this.loadDirectory(file);
      else if (entry.name.endsWith('.json')) {
        const resource = JSON.parse(fs.readFileSync(file, 'utf8')) as Resource;
        if (resource.resourceType === 'Bundle') for (const item of (resource as Bundle).entry ?? []) item.resource && this.add(item.resource);
        else if (typeof resource.resourceType === 'string') this.add(resource);
      }
    }
  }

  read(type: string, id: string): Resource | undefined {
    return this.byType.get(type)?.get(id);
  }

  all(type: string): Resource[] {
    return [...(this.byType.get(type)?.values() ?? [])];
  }

  /**
   * Simple search over the catalogue: `_id`, `url`, `name`, `version`,
   * `status`, `base`, `code`, `type` (exact, comma = OR, `url` may carry |version).
   */
  search(type: string, query: QueryParams): Resource[] {
    const filters = query.filter(([key]) => (CATALOGUE_SEARCH_PARAMETERS as readonly string[]).includes(key));
    return this.all(type).filter((resource) =>
      filters.every(([key, value]) => {
        const field = key === '_id' ? 'id' : key;
        const actual = (resource as unknown as Record<string, unknown>)[field];
        const candidates = Array.isArray(actual) ? actual.map(String) : actual === undefined ? [] : [String(actual)];
        return value.split(',').some((wanted) => candidates.includes(key === 'url' ? wanted.split('|')[0] : wanted));
      }),
    );
  }
}
