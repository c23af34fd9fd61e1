/**
 * Binary content kept outside the resource (CONTRACT §9 ITI-68 and raw
 * Binaries): the port the HTTP adapter streams uploads into and downloads
 * out of, the pointer a stored Binary carries instead of `data`, and the one
 * rule of when a Binary read answers its raw bytes. Types and pure functions
 * only; src/store/binary-contents.ts implements the port over PostgreSQL.
 * Never holds a whole content in memory: content moves as chunks.
 */
import type { Binary, Resource } from 'fhir/r4';

/**
 * The pointer: a stored Binary whose bytes are in the content store has no
 * `data` but `_data.extension` = [{ url: CONTENT_EXTENSION, valueString: <content id> }].
 * It is stripped from every served copy (the bytes are put back as `data`).
 */
export const CONTENT_EXTENSION = 'https://carnet.example.org/fhir/StructureDefinition/binary-content';

/** A content streamed into the store, not yet bound to a Binary (it is once the Binary's write commits). */
export interface StagedContent {
  contentId: string;
  size: number;
  /** base64 SHA-1 of the bytes (FHIR R4 Attachment.hash). */
  sha1: string;
  /** hex SHA-256 of the bytes (the strong ETag of the raw view). */
  sha256: string;
}

/** What the HTTP adapter needs to take a raw upload: stage the stream, drop it when the write fails. */
export interface ContentStaging {
  /** Stores `source` as it arrives; 413 (nothing kept) as soon as it passes `maxBytes`. */
  stage(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedContent>;
  /** Removes a staged content that no Binary holds (a refused or failed write). */
  discard(contentId: string): Promise<void>;
}

/** The raw view of a Binary (ITI-68): its bytes, read a range at a time. */
export interface BinaryBody {
  contentType: string;
  size: number;
  /** Strong ETag of these bytes (`"…"`), for If-Range and If-None-Match. */
  etag: string;
  lastModified: Date;
  /** Bytes `start` to `end` inclusive, as chunks. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
}

/** The content id a stored Binary points to (undefined: its bytes, if any, are inline `data`). */
export function contentIdOf(resource: Resource | null | undefined): string | undefined {
  if (resource?.resourceType !== 'Binary') return undefined;
  const extensions = (resource as Binary)._data?.extension;
  const value = Array.isArray(extensions) ? extensions.find((extension) => extension?.url === CONTENT_EXTENSION)?.valueString : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The Binary with its pointer extension removed (the rest of `_data` kept). */
export function withoutPointer(binary: Binary): Binary {
  const { _data, ...rest } = binary;
  const extension = (_data?.extension ?? []).filter((ext) => ext?.url !== CONTENT_EXTENSION);
  const others = { ..._data, extension };
  if (extension.length === 0) delete (others as { extension?: unknown }).extension;
  return Object.keys(others).length > 0 ? { ...rest, _data: others } : rest;
}

/** The FHIR JSON media types (a request naming one wants the resource, not its bytes). */
const FHIR_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir', 'fhir+json', 'json']);

const mediaTypesOf = (accept: string): string[] => accept.split(',').map((part) => part.split(';')[0].trim().toLowerCase()).filter((type) => type !== '');

/**
 * Whether a read of a Binary answers its raw bytes (ITI-68): an `Accept` that
 * names no FHIR JSON type (`*∕*`, the document's own type, a browser's list)
 * and no `_format`. No `Accept` at all is the resource as JSON, as before.
 */
export function wantsRawBinary(accept: string | undefined, format: string | undefined): boolean {
  if (format !== undefined || accept === undefined) return false;
  const types = mediaTypesOf(accept);
  return types.length > 0 && !types.some((type) => FHIR_TYPES.has(type));
}

/** Whether `accept` lets the bytes of `contentType` through (its exact type, `type/*`, or `*∕*`). */
export function acceptsContentType(accept: string, contentType: string): boolean {
  const own = contentType.split(';')[0].trim().toLowerCase();
  return mediaTypesOf(accept).some((type) => type === '*/*' || type === own || (type.endsWith('/*') && own.startsWith(type.slice(0, -1))));
}
