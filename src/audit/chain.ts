/**
 * The tamper-evident chain of a patient's AuditEvents, as pure functions: the
 * link hash and the walk that finds the first broken link. Owns the hashing
 * rule; never touches the database. PostgreSQL computes the same hash when it
 * appends (`audit_append`, migration 20261126000400); verify.ts feeds the
 * stored rows through `ChainWalk`.
 *
 * hash(n) = SHA-256( hash(n-1) | patient | position | content ), hex, with
 * hash(0) = '' and `content` the exact stored text of the AuditEvent (a `json`
 * column keeps its bytes, so no canonical form is needed) — altering,
 * removing, reordering or moving an event to another patient breaks a link,
 * and removing the latest ones breaks the head.
 */
import { createHash } from 'node:crypto';

export function linkHash(previousHash: string, patientId: string, position: number, content: string): string {
  return createHash('sha256').update(`${previousHash}|${patientId}|${position}|${content}`, 'utf8').digest('hex');
}

/** One stored link, as read back from `audit_events`. */
export interface ChainLink {
  id: string;
  position: number;
  prevHash: string;
  hash: string;
  /** The stored text of the AuditEvent (`content::text`). */
  content: string;
}

export type BreakReason = 'content-altered' | 'link-broken' | 'event-missing' | 'head-mismatch';

export interface ChainBreak {
  reason: BreakReason;
  /** Position where the chain first fails (for head-mismatch: the head's position). */
  position: number;
  /** The AuditEvent at that position, when there is one. */
  auditEventId?: string;
}

export const BREAK_MESSAGES: Record<BreakReason, string> = {
  'content-altered': 'the content of this AuditEvent no longer matches its hash: it was altered',
  'link-broken': 'this AuditEvent does not follow the previous one: an event before it was altered or replaced',
  'event-missing': 'an AuditEvent is missing before this position: it was removed',
  'head-mismatch': 'the latest AuditEvents do not match the chain head: events were removed or the head was altered',
};

/** Walks a patient's links in position order; `finish` compares the end with the stored head. */
export class ChainWalk {
  private previousHash = '';
  private expected = 1;
  private broken: ChainBreak | undefined;
  count = 0;

  constructor(private readonly patientId: string) {}

  /** Feeds the next link; returns false once the chain is broken (stop feeding). */
  next(link: ChainLink): boolean {
    if (this.broken) return false;
    this.count++;
    if (link.position !== this.expected) this.broken = { reason: 'event-missing', position: this.expected, auditEventId: link.id };
    else if (link.prevHash !== this.previousHash) this.broken = { reason: 'link-broken', position: link.position, auditEventId: link.id };
    else if (linkHash(link.prevHash, this.patientId, link.position, link.content) !== link.hash) this.broken = { reason: 'content-altered', position: link.position, auditEventId: link.id };
    this.previousHash = link.hash;
    this.expected = link.position + 1;
    return this.broken === undefined;
  }

  finish(head: { position: number; hash: string } | undefined): ChainBreak | undefined {
    if (this.broken) return this.broken;
    const headPosition = head?.position ?? 0;
    const headHash = head?.hash ?? '';
    if (headPosition !== this.expected - 1 || headHash !== this.previousHash) return { reason: 'head-mismatch', position: headPosition };
    return undefined;
  }
}
