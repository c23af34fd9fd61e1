/**
 * Writes of documents (CONTRACT §4.3, end): only the author updates or
 * deletes a document (403, checked before every other rule of the write:
 * `documentWriteRight`), but a patient may always hide or unhide it
 * (MASQUE_PS) and may remove INVISIBLE_REPRESENTANTS_LEGAUX, which can never
 * be set again once removed (422); INVISIBLE_PATIENT is the author's alone.
 * What an author submits: `author` must name the submitter, one of the
 * submitter's PractitionerRoles or their Organization (422); a system client
 * registered with an Organization names it or its practitioners. Never lets a
 * non-author change a document's content.
 */
import type { DocumentReference, Reference, Resource } from 'fhir/r4';
import { forbidden, unprocessable } from '../kernel/errors';
import type { Caller } from '../kernel/caller';
import { submitterOf } from '../kernel/caller';
import { localReference } from '../kernel/reference';
import type { StoredResource } from '../store/resources';
import { visibilityLabels } from './facts';
import type { AccessFactsReader, DocumentState } from './facts-reader';
import { INVISIBLE_REPRESENTANTS_LEGAUX, MASQUE_PS, VISIBILITY_SYSTEMS } from './vocabulary';

/**
 * 422 unless every `author` names the submitter, one of its PractitionerRoles or its Organization.
 * A system client registered with an Organization (§8) may name it and its practitioners
 * (`systemAuthors`); one registered without an Organization is not checked.
 */
export async function checkAuthors(caller: Caller, document: DocumentReference, facts: AccessFactsReader, baseUrl?: string): Promise<void> {
  const authors = document.author ?? [];
  if (authors.length === 0 || (caller.kind === 'system' && !caller.organization)) return;
  if (caller.kind === 'system') return systemAuthors(caller.organization as string, authors, facts, baseUrl);
  const allowed = new Set<string>([submitterOf(caller)]);
  if (caller.kind === 'practitioner') {
    const roles = await facts.rolesOf(caller.practitionerId);
    roles.roleIds.forEach((id) => allowed.add(`PractitionerRole/${id}`));
    roles.organizations.forEach((organization) => allowed.add(organization));
  }
  authors.forEach((author, index) => {
    const parsed = localReference(author.reference, baseUrl); // as the indexer reads parties: absolute on the FHIR base is local
    if (!parsed || !allowed.has(`${parsed.type}/${parsed.id}`)) {
      throw unprocessable(`author must name the submitter (${submitterOf(caller)}), one of its PractitionerRoles or its Organization`, `DocumentReference.author[${index}]`);
    }
  });
}

/**
 * A system client of Organization O names O, a Practitioner with a PractitionerRole at O, or a
 * PractitionerRole at O itself (a role of the same practitioner at another organization is refused).
 */
async function systemAuthors(organization: string, authors: readonly Reference[], facts: AccessFactsReader, baseUrl: string | undefined): Promise<void> {
  for (const [index, author] of authors.entries()) {
    const parsed = localReference(author.reference, baseUrl);
    if (!parsed || !(await isOfOrganization(parsed, organization, facts))) {
      throw unprocessable(`author must name the client's Organization (${organization}) or one of its practitioners`, `DocumentReference.author[${index}]`);
    }
  }
}

async function isOfOrganization(author: { type: string; id: string }, organization: string, facts: AccessFactsReader): Promise<boolean> {
  if (author.type === 'Organization') return `Organization/${author.id}` === organization;
  if (author.type === 'PractitionerRole') return (await facts.organizationOfRole(author.id)) === organization;
  return author.type === 'Practitioner' && (await facts.rolesOf(author.id)).organizations.includes(organization);
}

/** INVISIBLE_REPRESENTANTS_LEGAUX cannot come back once removed. */
export function checkIrreversibleLabel(document: DocumentReference, state: DocumentState | undefined): void {
  if (state?.legalLabelRemoved && visibilityLabels(document).includes(INVISIBLE_REPRESENTANTS_LEGAUX)) {
    throw unprocessable('INVISIBLE_REPRESENTANTS_LEGAUX was removed from this document and cannot be set again', 'DocumentReference.securityLabel');
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Canonical JSON (sorted keys), for comparing contents. */
function canonical(value: Json | undefined): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item)).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A document without meta and without its TRE_A07 labels: what a patient may not change. */
function withoutVisibility(document: DocumentReference): string {
  const securityLabel = (document.securityLabel ?? [])
    .map((concept) => ({ ...concept, coding: (concept.coding ?? []).filter((coding) => !VISIBILITY_SYSTEMS.includes(coding.system ?? '')) }))
    .filter((concept) => concept.coding.length > 0 || concept.text !== undefined);
  const { meta: _meta, securityLabel: _labels, ...rest } = document;
  return canonical({ ...rest, ...(securityLabel.length > 0 ? { securityLabel } : {}) } as unknown as Json);
}

/**
 * A patient (or legal representative) updating a document they did not add:
 * only its visibility may change — MASQUE_PS on or off, and (the patient
 * only) INVISIBLE_REPRESENTANTS_LEGAUX off.
 */
export function checkVisibilityOnlyUpdate(caller: Caller, next: DocumentReference, current: DocumentReference): void {
  if (withoutVisibility(next) !== withoutVisibility(current)) throw forbidden('only the document\'s author updates it; a patient may only hide or unhide it');
  const before = new Set(visibilityLabels(current));
  const after = new Set(visibilityLabels(next));
  const changed = [...new Set([...before, ...after])].filter((label) => before.has(label) !== after.has(label));
  for (const label of changed) {
    if (label === MASQUE_PS) continue;
    if (label === INVISIBLE_REPRESENTANTS_LEGAUX && !after.has(label) && caller.kind === 'patient') continue;
    throw forbidden(`${label} is set or removed by the document's author${label === INVISIBLE_REPRESENTANTS_LEGAUX ? ' (the patient may remove it)' : ''}`);
  }
}

/**
 * How the caller may update or delete document D, before any other rule of the write (403
 * otherwise): as its author (every rule of a submission applies), or — a patient or legal
 * representative with a document they did not add — by its visibility only (`checkVisibilityOnlyUpdate`).
 */
export function documentWriteRight(caller: Caller, next: Resource | null, current: StoredResource, state: DocumentState | undefined): 'author' | 'visibility' {
  const me = submitterOf(caller);
  switch (caller.kind) {
    case 'practitioner':
      if (!state?.parties.includes(me)) throw forbidden('only the document\'s author updates or deletes it');
      return 'author';
    case 'patient':
    case 'related-person':
      if (current.createdBy === me) return 'author';
      if (next === null) throw forbidden('a patient deletes only documents the patient added');
      return 'visibility';
    case 'system':
      return 'author'; // the foundation rule (created by this client) is checked by the caller
  }
}
