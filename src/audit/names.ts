/**
 * The documents an AuditEvent names (CONTRACT §6: a reader is not served an
 * event about a document that reader may not see, nor one whose query names
 * it). Stored with the event as `audit_events.names` when the trail appends
 * it; read by hidden-events.ts. Not part of the hash chain.
 *
 * The ids of
 * - every `entity.what.reference` to a DocumentReference or a Binary
 *   (relative or absolute, versioned or not), and
 * - every term of every recorded query (`entity.query`, base64 of
 *   `path?parameters`): the decoded bytes cut at each character that cannot
 *   be in an id (anything but `A-Z a-z 0-9 - .`), at each URL escape (`%2F`…)
 *   and at each non-ASCII byte. So `_id=D`, `related=DocumentReference/D`,
 *   `…/DocumentReference/D/_history/2`, `D` in a comma-separated list or in
 *   any parameter's value all name D.
 *
 * Until migration 20261205000000 PostgreSQL computed the same list itself
 * (`audit_document_names`, a generated column): the rows stored before keep
 * what it computed. The rules are the same, byte for byte: a non-ASCII byte
 * is cut with the three digits PostgreSQL's `escape` encoding gave it, and a
 * backslash followed by three octal digits is cut with them.
 */
import type { AuditEvent } from 'fhir/r4';

const REFERENCED = /(?:^|\/)(?:DocumentReference|Binary)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/[^/]*)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SEPARATORS = /(?:%[0-9A-Fa-f]{2}|\\[0-7]{3}|[^A-Za-z0-9.-])+/;
const NAME = /^[A-Za-z0-9.-]{1,64}$/;

/** The decoded query as PostgreSQL's `encode(bytes, 'escape')` writes it: NUL and bytes ≥ 0x80 as `\ooo`, a backslash doubled. */
function escaped(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0 || byte >= 0x80) text += `\\${byte.toString(8).padStart(3, '0')}`;
    else if (byte === 0x5c) text += '\\\\';
    else text += String.fromCharCode(byte);
  }
  return text;
}

function queryTerms(query: string): string[] {
  if (!BASE64.test(query) || query.length % 4 !== 0) return [];
  return escaped(Buffer.from(query, 'base64')).split(SEPARATORS);
}

/** The ids `event` names, distinct and sorted. */
export function documentNames(event: Pick<AuditEvent, 'entity'>): string[] {
  const names = new Set<string>();
  for (const entity of Array.isArray(event.entity) ? event.entity : []) {
    const reference = entity?.what?.reference;
    const referenced = typeof reference === 'string' ? REFERENCED.exec(reference)?.[1] : undefined;
    if (referenced) names.add(referenced);
    if (typeof entity?.query === 'string') for (const term of queryTerms(entity.query)) if (NAME.test(term)) names.add(term);
  }
  return [...names].sort();
}
