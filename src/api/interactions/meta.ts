/**
 * `$meta` (resource-operation-meta) at every level, answered as a Parameters
 * `return` (Meta):
 * - instance (`Type/id`, or one version): the read's meta — the same scopes,
 *   space check, access predicate, 404/403/410 as read and vread (read.ts),
 *   so it tells nothing a read would not;
 * - type (`Type/$meta`) and system (`/$meta`): the union of the profiles, tags
 *   and security labels in use, computed in SQL over the rows the caller's
 *   access predicate lets through (search/meta.ts) — a tag used only by rows
 *   the caller may not read is absent, as if they did not exist — plus, for
 *   the read-only conformance types, the catalogue's resources.
 * `$meta-add` and `$meta-delete` are writes: meta-change.ts.
 */
import type { Meta, Parameters, Resource } from 'fhir/r4';
import type { Handler } from '../../kernel/ports';
import type { FhirRequest } from '../../kernel/request';
import type { ConformanceCatalogue } from '../../conformance/catalogue';
import { CONFORMANCE_TYPES, isConformanceType, requireKnownType } from '../../kernel/resource-types';
import { unionOfMetas } from '../../search/meta';
import { readInteraction, vreadInteraction } from './read';

function metaParameters(meta: Meta): Parameters {
  return { resourceType: 'Parameters', parameter: [{ name: 'return', valueMeta: meta }] };
}

/** `GET|POST [type]/[id]/$meta` and `[type]/[id]/_history/[vid]/$meta`. */
export function metaInteraction(catalogue: ConformanceCatalogue): Handler {
  const read = readInteraction(catalogue);
  return async (request, session, params) => {
    const asRead: FhirRequest = { ...request, method: 'GET', query: [], headers: { ...request.headers, 'if-none-match': undefined, 'if-modified-since': undefined } };
    const response = params.vid ? await vreadInteraction(asRead, session, params) : await read(asRead, session, params);
    return { status: 200, body: metaParameters((response.body as Resource | undefined)?.meta ?? {}) };
  };
}

/** `GET|POST [type]/$meta`: the meta in use on the rows of the type the caller may read (the search scope of the type). */
export function typeMetaInteraction(catalogue: ConformanceCatalogue): Handler {
  return async (_request, session, params) => {
    const { type } = params;
    requireKnownType(type);
    if (isConformanceType(type)) return { status: 200, body: metaParameters(catalogueMeta(catalogue, [type])) };
    session.access.checkScope(type, 's');
    return { status: 200, body: metaParameters(await session.search.metaInUse(type, session.access.readable(type))) };
  };
}

/** `GET|POST /$meta`: the meta in use on every row the caller may read (scopes cut in the predicate) and in the catalogue. */
export function systemMetaInteraction(catalogue: ConformanceCatalogue): Handler {
  return async (_request, session) => {
    const stored = await session.search.metaInUse(undefined, session.access.readable());
    return { status: 200, body: metaParameters(unionOfMetas([stored, catalogueMeta(catalogue, [...CONFORMANCE_TYPES])])) };
  };
}

function catalogueMeta(catalogue: ConformanceCatalogue, types: readonly string[]): Meta {
  return unionOfMetas(types.flatMap((type) => catalogue.all(type).map((resource) => resource.meta)));
}
