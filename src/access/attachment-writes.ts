/**
 * Linking never widens a Binary's audience (CONTRACT §4.3 steps 6–7): a
 * document's attachment may point at a Binary (or Bundle) of this server only
 * if its submitter may already see it — created it, or reads it under the
 * rules — and a Binary's securityContext may name a DocumentReference only if
 * its submitter may see that document. Anything else, a target that does not
 * exist included, is the same 422 (status, message, expression): a reference
 * to a resource the caller may not see is answered exactly like a reference
 * to nothing. Only new links are checked (an update keeping a link it had
 * adds nothing). Every form of a local reference is one link
 * (kernel/reference.ts). Never lets a link through that would show a Binary
 * to someone who could not see it before.
 */
import type { DocumentReference, Resource } from 'fhir/r4';
import type { Caller } from '../kernel/caller';
import { submitterOf } from '../kernel/caller';
import { unprocessable } from '../kernel/errors';
import type { RowPredicate } from '../kernel/predicate';
import { attachmentTargets, securityContextOf } from './facts';
import type { AccessFactsReader } from './facts-reader';

export interface LinkDeps {
  facts: AccessFactsReader;
  /** The caller's access predicate for rows of a type (sql.ts, the one used by reads and searches). */
  readable: (resourceType: string) => RowPredicate;
  /** The closed spaces alone (sql.ts compileOpen): a submitter's own row in one is linked to no more than one never written. */
  open: (resourceType: string) => RowPredicate;
  baseUrl?: string;
}

/** 422 unless every Binary or Bundle the document newly points at exists and its submitter may see it. */
export async function checkAttachmentLinks(caller: Caller, document: DocumentReference, current: Resource | null | undefined, deps: LinkDeps): Promise<void> {
  const before = new Set(current?.resourceType === 'DocumentReference' ? attachmentTargets(current as DocumentReference, deps.baseUrl).map((t) => `${t.type}/${t.id}`) : []);
  const added = attachmentTargets(document, deps.baseUrl).filter((target) => !before.has(`${target.type}/${target.id}`));
  for (const type of [...new Set(added.map((target) => target.type))]) {
    const ofType = added.filter((target) => target.type === type);
    const seen = await deps.facts.seenBy(submitterOf(caller), deps.readable(type), deps.open(type), type, ofType.map((target) => target.id));
    const unseen = ofType.find((target) => !seen.has(target.id));
    if (unseen) throw unprocessable(`the attachment names no ${unseen.type} this submitter may link (none exists, or the submitter may not see it)`, unseen.expression);
  }
}

/** 422 unless a Binary's (new) securityContext DocumentReference exists and its submitter may see it. */
export async function checkSecurityContext(caller: Caller, binary: Resource, current: Resource | null | undefined, deps: LinkDeps): Promise<void> {
  const context = securityContextOf(binary, deps.baseUrl);
  if (context?.type !== 'DocumentReference') return;
  const previous = securityContextOf(current ?? null, deps.baseUrl);
  if (previous?.type === context.type && previous.id === context.id) return;
  const seen = await deps.facts.seenBy(submitterOf(caller), deps.readable('DocumentReference'), deps.open('DocumentReference'), 'DocumentReference', [context.id]);
  if (!seen.has(context.id)) throw unprocessable('the securityContext names no DocumentReference this submitter may see (none exists, or the submitter may not see it)', 'Binary.securityContext');
}
