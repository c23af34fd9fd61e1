/**
 * The search folder's front door for the composition root: one registry
 * (base R4 plus the SearchParameters of `profiles/`), the indexer that keeps
 * the index tables in step with writes, and a SearchEngine per store (the
 * store bound to a transaction gives an engine reading inside it).
 */
import type { Executor } from '../store/executor';
import type { StoreObserver } from '../store/resources';
import type { SearchEngine } from '../kernel/ports';
import { createRegistry, type SearchParameterRegistry } from './parameters';
import { SearchIndexer } from './indexer';
import { SqlSearchEngine } from './engine';
import type { CursorCodec } from './paging';

export interface SearchEngineSetup {
  /** Folder of project SearchParameters (`profiles/`). */
  profilesDir?: string;
  /** FHIR base of the server (`${BASE_URL}/fhir`): absolute references on it count as local. */
  baseUrl?: string;
  /** An existing registry to use instead of building one. */
  registry?: SearchParameterRegistry;
  /** Seals paging cursors; the server's is made from the database's secret (store/secrets.ts). */
  cursors?: CursorCodec;
}

export interface SearchComponents {
  registry: SearchParameterRegistry;
  indexer: SearchIndexer;
  /** The engine of a session: reads through its executor, reports what it answers to its observer. */
  search: (sql: Executor, observer?: Pick<StoreObserver, 'disclosed'>) => SqlSearchEngine;
}

export function createSearchEngine(setup: SearchEngineSetup = {}): SearchComponents {
  const registry = setup.registry ?? createRegistry(setup.profilesDir);
  const indexer = new SearchIndexer(registry, { baseUrl: setup.baseUrl });
  return {
    registry,
    indexer,
    search: (sql, observer) => new SqlSearchEngine(sql, registry, { baseUrl: setup.baseUrl, cursors: setup.cursors }, observer),
  };
}

export { SqlSearchEngine } from './engine';
export { SearchIndexer, writeIndexRows } from './indexer';
export { createRegistry, loadSearchParameters, readSearchParameters, SearchParameterRegistry, baseRegistry } from './parameters';
