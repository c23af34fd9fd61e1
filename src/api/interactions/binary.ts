/**
 * Reads of a Binary (CONTRACT §9 ITI-68 Retrieve Document): with an `Accept`
 * naming no FHIR type (`*∕*`, the document's own type) the raw bytes, as a
 * FhirResponse `content` the HTTP adapter streams (ranges included, http/binary.ts);
 * with a FHIR type or `_format` the resource as JSON (read.ts, its bytes
 * inline as base64 `data`). Both under exactly the read rules of any Binary
 * (the caller's predicate: the Binary follows the documents pointing to it),
 * both answered alike for a hidden and an absent Binary (read.ts `unseen`),
 * and both audited as a read of the document: every DocumentReference whose
 * attachment links the Binary, and its securityContext's, is read under the
 * caller's predicate and so named in the AuditEvent (a Binary governed by its
 * securityContext patient alone names that patient). Never streams bytes of
 * a Binary the caller's predicate hides.
 */
import type { Binary, Resource } from 'fhir/r4';
import { badRequest, FhirError, notFound } from '../../kernel/errors';
import type { Handler, Session } from '../../kernel/ports';
import { header, queryValue, type FhirRequest, type FhirResponse } from '../../kernel/request';
import { requireValidId } from '../../kernel/resource-types';
import { acceptsContentType, wantsRawBinary, type BinaryBody } from '../../kernel/binary-content';
import { localReference } from '../../kernel/reference';
import type { StoredResource } from '../../kernel/stored';
import { checkInstanceScope, unseen } from './read';
import { versionHeaders } from './responses';

/** What the reads need of the content store (store/binary-contents.ts). */
export interface BinaryContentReader {
  bodyOf(binary: Binary, lastModified: Date): Promise<BinaryBody | undefined>;
  documentsLinking(binaryId: string): Promise<string[]>;
}

export interface BinaryReads {
  read: Handler;
  vread: Handler;
}

/** `GET Binary/:id` and `GET Binary/:id/_history/:vid`: raw or JSON by `Accept`, both audited as reads of the documents. */
export function binaryReads(contents: BinaryContentReader, json: BinaryReads): BinaryReads {
  const handler =
    (jsonHandler: Handler, versioned: boolean): Handler =>
    async (request, session, params) => {
      if (!wantsRawBinary(header(request, 'accept'), queryValue(request.query, '_format'))) {
        const response = await jsonHandler(request, session, { ...params, type: 'Binary' });
        if (response.status === 200 && response.body?.resourceType === 'Binary') await nameDocuments(session, contents, response.body);
        return response;
      }
      return rawRead(request, session, contents, params.id, versioned ? params.vid : undefined);
    };
  return { read: handler(json.read, false), vread: handler(json.vread, true) };
}

async function rawRead(request: FhirRequest, session: Session, contents: BinaryContentReader, id: string, vid: string | undefined): Promise<FhirResponse> {
  requireValidId(id);
  if (vid !== undefined && !/^[1-9]\d{0,9}$/.test(vid)) throw badRequest(`invalid version id "${vid.slice(0, 20)}"`);
  await checkInstanceScope(session, 'Binary', id, 'r');
  const readable = session.access.readable('Binary');
  const stored = vid === undefined ? await session.store.read('Binary', id, readable) : await session.store.vread('Binary', id, Number(vid), readable);
  const what = vid === undefined ? `Binary/${id}` : `Binary/${id}/_history/${vid}`;
  if (!stored) throw await unseen(session, 'Binary', id, what);
  if (stored.deleted || !stored.content) throw new FhirError(410, 'deleted', `Binary/${id} was deleted`, undefined, versionHeaders(session, stored, false));
  await nameDocuments(session, contents, stored.content);
  const body = await contents.bodyOf(stored.content as Binary, stored.lastUpdated);
  if (!body) throw notFound(`${what} is not known`);
  const accept = header(request, 'accept') ?? '*/*';
  if (!acceptsContentType(accept, body.contentType)) {
    throw new FhirError(406, 'not-supported', `${what} is ${body.contentType.slice(0, 80)}: ask for that type, */*, or application/fhir+json`);
  }
  const headers = rawHeaders(session, stored, body);
  if (notModified(request, stored, body)) return { status: 304, headers };
  return { status: 200, headers, content: body };
}

function rawHeaders(session: Session, stored: StoredResource, body: BinaryBody): Record<string, string> {
  return {
    ETag: body.etag,
    'Last-Modified': stored.lastUpdated.toUTCString(),
    'Content-Location': `${session.baseUrl}/Binary/${stored.id}/_history/${stored.versionId}`,
  };
}

/** `If-None-Match` naming these bytes' ETag (or the version's `W/"n"`, or `*`), else `If-Modified-Since` → 304. */
function notModified(request: FhirRequest, stored: StoredResource, body: BinaryBody): boolean {
  const noneMatch = header(request, 'if-none-match');
  if (noneMatch) return noneMatch.split(',').some((tag) => [body.etag, `W/"${stored.versionId}"`, `"${stored.versionId}"`, '*'].includes(tag.trim()));
  const since = header(request, 'if-modified-since');
  if (!since) return false;
  const date = Date.parse(since);
  return !Number.isNaN(date) && Math.floor(stored.lastUpdated.getTime() / 1000) <= Math.floor(date / 1000);
}

/**
 * Names, to the audit, the documents governing a Binary: each is read under
 * the caller's predicate (a Binary the caller sees is one whose governing
 * documents it sees), so the AuditEvent lists `DocumentReference/D/_history/n`
 * under D's patient. A securityContext on a patient names that patient.
 */
async function nameDocuments(session: Session, contents: BinaryContentReader, binary: Resource): Promise<void> {
  const context = localReference((binary as Binary).securityContext?.reference, session.baseUrl);
  const documents = new Set(await contents.documentsLinking(binary.id as string));
  if (context?.type === 'DocumentReference') documents.add(context.id);
  if (context?.type === 'Patient') session.audit.named([context.id]);
  const readable = session.access.readable('DocumentReference');
  for (const id of documents) await session.store.read('DocumentReference', id, readable);
}
