/**
 * `$meta` at instance level (resource-operation-meta): the `meta` of
 * `Type/id` (or of one version) as a Parameters `return`. A read under
 * another name: the same scopes, space check, access predicate, 404/403/410
 * as read and vread (read.ts), so it tells nothing a read would not.
 * `$meta-add` and `$meta-delete` are not served (they would be writes).
 */
import type { Meta, Parameters, Resource } from 'fhir/r4';
import type { Handler } from '../../kernel/ports';
import type { FhirRequest } from '../../kernel/request';
import type { ConformanceCatalogue } from '../../conformance/catalogue';
import { readInteraction, vreadInteraction } from './read';

function metaParameters(resource: Resource | undefined): Parameters {
  const meta: Meta = resource?.meta ?? {};
  return { resourceType: 'Parameters', parameter: [{ name: 'return', valueMeta: meta }] };
}

/** `GET|POST [type]/[id]/$meta` and `[type]/[id]/_history/[vid]/$meta`. */
export function metaInteraction(catalogue: ConformanceCatalogue): Handler {
  const read = readInteraction(catalogue);
  return async (request, session, params) => {
    const asRead: FhirRequest = { ...request, method: 'GET', query: [], headers: { ...request.headers, 'if-none-match': undefined, 'if-modified-since': undefined } };
    const response = params.vid ? await vreadInteraction(asRead, session, params) : await read(asRead, session, params);
    return { status: 200, body: metaParameters(response.body as Resource | undefined) };
  };
}
