/**
 * Binary content in PostgreSQL (migration …_binary_content): the bytes of a
 * raw upload in `binary_content` chunks, its size and hashes in
 * `binary_contents`. Owns:
 * - staging: an upload is written chunk by chunk as it arrives (never whole
 *   in memory), hashed on the way, and cut off with a 413 — everything it had
 *   stored removed — as soon as it passes the limit;
 * - binding: the content indexer, in the Binary's own write transaction,
 *   marks the content its pointer names committed and bound to that Binary —
 *   a content bound to another Binary, or unknown, is a 422 (a client cannot
 *   borrow another Binary's bytes by naming its pointer);
 * - the checks of a DocumentReference's `attachment.size` / `attachment.hash`
 *   against the bytes of the local Binary its `url` names (422 naming the element);
 * - reading: a range of a content as chunks (the raw view, ITI-68), and the
 *   served copies of Binaries with their bytes back inline as `data`;
 * - the sweep of staged contents no Binary took within an hour.
 * Never decides who may see a Binary: callers read the Binary row under the
 * caller's predicate first.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Attachment, Binary, DocumentReference, Resource } from 'fhir/r4';
import { FhirError, unprocessable } from '../kernel/errors';
import { contentIdOf, withoutPointer, type BinaryBody, type ContentStaging, type StagedContent } from '../kernel/binary-content';
import { localReference } from '../kernel/reference';
import type { ResourceIndexer } from '../kernel/stored';
import type { Executor } from './executor';

/** Bytes per `binary_content` row. */
export const CHUNK_SIZE = 512 * 1024;
/** Chunks fetched per statement when reading (2 MB). */
const CHUNKS_PER_READ = 4;
/** A staged content no Binary took after this long is an abandoned upload. */
const STAGED_LIFETIME_MS = 60 * 60_000;
/** Sweeps run at most this often per process (from an upload). */
const SWEEP_EVERY_MS = 60_000;

interface ContentRow {
  content_id: string;
  size: string;
  chunk_size: number;
  sha1: string | null;
  sha256: string | null;
  binary_rid: string | null;
}

export interface ContentInfo {
  contentId: string;
  size: number;
  chunkSize: number;
  sha1: string;
  sha256: string;
}

const isContentId = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

const tooLarge = (maxBytes: number) => new FhirError(413, 'too-costly', `the Binary is larger than the server accepts (MAX_BINARY, ${maxBytes} bytes)`);

export class BinaryContents implements ContentStaging {
  private lastSweep = 0;

  constructor(
    private readonly sql: Executor,
    private readonly chunkSize = CHUNK_SIZE,
  ) {}

  async stage(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedContent> {
    this.sweepNow();
    const contentId = randomUUID();
    await this.sql.query('INSERT INTO binary_contents (content_id, chunk_size) VALUES (?, ?)', [contentId, this.chunkSize]);
    try {
      return await this.fill(contentId, source, maxBytes);
    } catch (error) {
      await this.discard(contentId);
      throw error;
    }
  }

  /** Chunks are written one behind the stream: the next one fills while the last is being inserted (two at most in memory). */
  private async fill(contentId: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedContent> {
    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    let seq = 0;
    let writing: Promise<unknown> = Promise.resolve();
    const write = async (bytes: Buffer) => {
      await writing;
      writing = this.sql.query('INSERT INTO binary_content (content_id, seq, bytes) VALUES (?, ?, ?)', [contentId, seq++, bytes]);
      writing.catch(() => {}); // awaited by the next write or at the end
    };
    try {
      for await (const piece of readSource(source)) {
        size += piece.length;
        if (size > maxBytes) throw tooLarge(maxBytes);
        sha1.update(piece);
        sha256.update(piece);
        pending.push(piece);
        pendingBytes += piece.length;
        while (pendingBytes >= this.chunkSize) {
          const all = Buffer.concat(pending, pendingBytes);
          await write(all.subarray(0, this.chunkSize));
          pending = pendingBytes > this.chunkSize ? [all.subarray(this.chunkSize)] : [];
          pendingBytes -= this.chunkSize;
        }
      }
      if (pendingBytes > 0) await write(Buffer.concat(pending, pendingBytes));
    } finally {
      await writing.catch(() => {}); // no insert outlives a failed stage (its discard follows)
    }
    await writing;
    const staged = { contentId, size, sha1: sha1.digest('base64'), sha256: sha256.digest('hex') };
    await this.sql.query('UPDATE binary_contents SET size = ?, sha1 = ?, sha256 = ? WHERE content_id = ?', [size, staged.sha1, staged.sha256, contentId]);
    return staged;
  }

  async discard(contentId: string): Promise<void> {
    await this.sql.query('DELETE FROM binary_contents WHERE content_id = ? AND NOT committed', [contentId]);
  }

  /** Removes the staged contents no Binary took within the hour; the number removed. */
  async sweep(now = new Date()): Promise<number> {
    this.lastSweep = now.getTime();
    const { rowCount } = await this.sql.query('DELETE FROM binary_contents WHERE NOT committed AND created_at < ?', [new Date(now.getTime() - STAGED_LIFETIME_MS)]);
    return rowCount;
  }

  private sweepNow(): void {
    if (Date.now() - this.lastSweep < SWEEP_EVERY_MS) return;
    this.sweep().catch(() => {
      this.lastSweep = 0; // tried again by the next upload
    });
  }

  async info(contentId: string): Promise<ContentInfo | undefined> {
    if (!isContentId(contentId)) return undefined;
    const { rows } = await this.sql.query<ContentRow>('SELECT content_id, size, chunk_size, sha1, sha256, binary_rid FROM binary_contents WHERE content_id = ? AND committed', [contentId]);
    const row = rows[0];
    return row ? { contentId: row.content_id, size: Number(row.size), chunkSize: row.chunk_size, sha1: row.sha1 ?? '', sha256: row.sha256 ?? '' } : undefined;
  }

  /** Bytes `start`..`end` (inclusive) of a content, a few chunks per statement, the next statement sent while these are consumed. */
  async *read(info: ContentInfo, start: number, end: number): AsyncGenerator<Buffer> {
    if (info.size === 0 || end < start) return;
    const first = Math.floor(start / info.chunkSize);
    const last = Math.floor(end / info.chunkSize);
    const batch = (from: number) =>
      this.sql.query<{ seq: number; bytes: Buffer }>('SELECT seq, bytes FROM binary_content WHERE content_id = ? AND seq BETWEEN ? AND ? ORDER BY seq', [
        info.contentId,
        from,
        Math.min(last, from + CHUNKS_PER_READ - 1),
      ]);
    let next: ReturnType<typeof batch> | undefined = batch(first);
    for (let from = first; next; from += CHUNKS_PER_READ) {
      const { rows } = await next;
      next = from + CHUNKS_PER_READ <= last ? batch(from + CHUNKS_PER_READ) : undefined;
      next?.catch(() => {}); // awaited at the next turn; a reader that stops early leaves it unread
      for (const row of rows) {
        const offset = row.seq * info.chunkSize;
        const lo = Math.max(start - offset, 0);
        const hi = Math.min(end - offset + 1, row.bytes.length);
        if (hi > lo) yield row.bytes.subarray(lo, hi);
      }
    }
  }

  /** The raw view of a stored Binary (a pointer or inline `data`); undefined when its content is gone. */
  async bodyOf(binary: Binary, lastModified: Date): Promise<BinaryBody | undefined> {
    const contentType = binary.contentType ?? 'application/octet-stream';
    const contentId = contentIdOf(binary);
    if (contentId === undefined) {
      const bytes = Buffer.from(binary.data ?? '', 'base64');
      const etag = `"${createHash('sha256').update(bytes).digest('hex')}"`;
      return { contentType, size: bytes.length, etag, lastModified, read: async function* (start, end) { if (end >= start) yield bytes.subarray(start, end + 1); } };
    }
    const info = await this.info(contentId);
    if (!info) return undefined;
    return { contentType, size: info.size, etag: `"${info.sha256}"`, lastModified, read: (start, end) => this.read(info, start, end) };
  }

  /** The ids of the DocumentReferences (deleted ones included) whose attachment links Binary `id`. */
  async documentsLinking(binaryId: string): Promise<string[]> {
    const { rows } = await this.sql.query<{ id: string }>(
      `SELECT d.id FROM attachment_links l JOIN resources d ON d.rid = l.document_rid
        WHERE l.target_type = 'Binary' AND l.target_id = ? AND d.resource_type = 'DocumentReference' ORDER BY d.id`,
      [binaryId],
    );
    return rows.map((row) => row.id);
  }
}

/** The source's pieces as Buffers; a source that breaks off (a client gone) is a 400, not a server error. */
async function* readSource(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await iterator.next();
    } catch {
      throw new FhirError(400, 'incomplete', 'the upload was interrupted before its end');
    }
    if (next.done) return;
    yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
  }
}

/**
 * The served copies of `resources`: each Binary that points to stored content
 * gets its bytes back as base64 `data` and loses the pointer (the JSON view,
 * searches, history, Bundles and the export alike). Others are returned as they are.
 */
export async function inlineContents<T extends Resource>(sql: Executor, resources: readonly T[]): Promise<T[]> {
  if (!resources.some((resource) => contentIdOf(resource) !== undefined)) return [...resources];
  const contents = new BinaryContents(sql);
  const served: T[] = [];
  for (const resource of resources) {
    const contentId = contentIdOf(resource);
    if (contentId === undefined) {
      served.push(resource);
      continue;
    }
    const info = await contents.info(contentId);
    const pieces: Buffer[] = [];
    if (info) for await (const piece of contents.read(info, 0, info.size - 1)) pieces.push(piece);
    const binary = withoutPointer(resource as unknown as Binary);
    served.push((info ? { ...binary, data: Buffer.concat(pieces).toString('base64') } : binary) as unknown as T);
  }
  return served;
}

/**
 * The write side, in each write's transaction: a Binary's pointer binds its
 * content to it; a DocumentReference's attachment size and hash must match
 * the bytes of the local Binary its url names.
 */
export class BinaryContentIndexer implements ResourceIndexer {
  constructor(private readonly baseUrl?: string) {}

  /** Nothing to write for a new row but a Binary's, and nothing to check but stated sizes and hashes of local Binaries. */
  newRowCtes(row: Parameters<ResourceIndexer['index']>[1]): [] | undefined {
    if (row.deleted || !row.content) return [];
    if (row.resourceType === 'Binary') return undefined;
    if (row.resourceType !== 'DocumentReference') return [];
    const checked = ((row.content as DocumentReference).content ?? []).some(({ attachment }) => (attachment?.size !== undefined || attachment?.hash !== undefined) && localReference(attachment.url, this.baseUrl)?.type === 'Binary');
    return checked ? undefined : [];
  }

  async index(sql: Executor, row: Parameters<ResourceIndexer['index']>[1]): Promise<void> {
    if (row.deleted || !row.content) return;
    if (row.resourceType === 'Binary') await this.bind(sql, row.rid, row.content);
    if (row.resourceType === 'DocumentReference') await this.checkAttachments(sql, row.content as DocumentReference);
  }

  private async bind(sql: Executor, rid: number, binary: Resource): Promise<void> {
    const contentId = contentIdOf(binary);
    if (contentId === undefined) return;
    const { rowCount } = await sql.query(
      `UPDATE binary_contents SET committed = true, binary_rid = ?
        WHERE content_id = ?::uuid AND (binary_rid IS NULL OR binary_rid = ?) AND sha256 IS NOT NULL`,
      [rid, isContentId(contentId) ? contentId : '00000000-0000-0000-0000-000000000000', rid],
    );
    if (rowCount === 0) throw unprocessable('the Binary names no content uploaded for it (send the bytes raw, or as base64 data)', 'Binary._data');
  }

  private async checkAttachments(sql: Executor, document: DocumentReference): Promise<void> {
    for (const [index, content] of (document.content ?? []).entries()) {
      const attachment = content.attachment;
      if (attachment?.size === undefined && attachment?.hash === undefined) continue;
      const target = localReference(attachment.url, this.baseUrl);
      if (target?.type !== 'Binary') continue;
      const stated = await storedFacts(sql, target.id);
      if (!stated) continue; // no such Binary: the link rules answer for it (access/attachment-writes.ts)
      checkStated(attachment, stated, `DocumentReference.content[${index}].attachment`);
    }
  }
}

/** Size and base64 SHA-1 of the current bytes of Binary `id` (undefined: no live Binary). */
async function storedFacts(sql: Executor, binaryId: string): Promise<{ size: number; sha1: string } | undefined> {
  const { rows } = await sql.query<{ content: Binary | null }>(`SELECT content FROM resources WHERE resource_type = 'Binary' AND id = ? AND NOT deleted`, [binaryId]);
  const binary = rows[0]?.content;
  if (!binary) return undefined;
  const contentId = contentIdOf(binary);
  if (contentId !== undefined) return new BinaryContents(sql).info(contentId);
  const bytes = Buffer.from(binary.data ?? '', 'base64');
  return { size: bytes.length, sha1: createHash('sha1').update(bytes).digest('base64') };
}

function checkStated(attachment: Attachment, stored: { size: number; sha1: string }, at: string): void {
  if (attachment.size !== undefined && attachment.size !== stored.size) {
    throw unprocessable(`the attachment's size (${attachment.size}) is not the size of the Binary it names (${stored.size} bytes)`, `${at}.size`);
  }
  if (attachment.hash !== undefined && attachment.hash.replace(/\s/g, '') !== stored.sha1) {
    throw unprocessable("the attachment's hash is not the base64 SHA-1 of the Binary it names", `${at}.hash`);
  }
}
