/**
 * What the screens read of the space: its documents (with their authors' names, from
 * `_include`), its choices in force, and the hiding state of each document (TRE_A07
 * MASQUE_PS, hide-document Consents, hide-all), computed as §4.2 says.
 */
import type { Consent, DocumentReference, FhirResource, Organization, Practitioner, PractitionerRole } from 'fhir/r4';
import { searchAll } from './api';
import { actorsOf, activeChoices, documentsOf, kindOf, maskedByLabel, nameOf } from './choices';
import { t } from './i18n';

export interface DocumentFilter {
  type?: string; // system|code
  from?: string; // yyyy-mm-dd
  to?: string;
}

export interface Space {
  documents: DocumentReference[];
  authors: Map<string, string>;
  choices: Consent[];
}

export async function loadDocuments(patientId: string, filter: DocumentFilter = {}): Promise<{ documents: DocumentReference[]; authors: Map<string, string> }> {
  const query = new URLSearchParams({ patient: `Patient/${patientId}`, _sort: '-date', _count: '100', _include: 'DocumentReference:author' });
  if (filter.type) query.append('type', filter.type);
  if (filter.from) query.append('date', `ge${filter.from}`);
  if (filter.to) query.append('date', `le${filter.to}`);
  const { resources, included } = await searchAll<DocumentReference>(`DocumentReference?${query}`, 5);
  return { documents: resources.filter((resource) => resource.resourceType === 'DocumentReference'), authors: namesOf(included) };
}

export async function loadSpace(patientId: string, filter: DocumentFilter = {}): Promise<Space> {
  const [{ documents, authors }, choices] = await Promise.all([loadDocuments(patientId, filter), activeChoices(patientId)]);
  return { documents, authors, choices };
}

/** Names by reference, of the directory resources a search included. */
export function namesOf(included: FhirResource[]): Map<string, string> {
  const names = new Map<string, string>();
  const practitioners = new Map<string, Practitioner>();
  for (const resource of included) if (resource.resourceType === 'Practitioner') practitioners.set(`Practitioner/${resource.id}`, resource);
  for (const resource of included) {
    const reference = `${resource.resourceType}/${resource.id}`;
    if (resource.resourceType === 'Practitioner') names.set(reference, nameOf(resource, reference));
    if (resource.resourceType === 'Organization') names.set(reference, (resource as Organization).name ?? reference);
    if (resource.resourceType === 'PractitionerRole') {
      const role = resource as PractitionerRole;
      names.set(reference, role.practitioner?.display ?? nameOf(practitioners.get(role.practitioner?.reference ?? ''), role.practitioner?.reference ?? reference));
    }
  }
  return names;
}

export const authorOf = (document: DocumentReference, authors: Map<string, string>) =>
  (document.author ?? []).map((author) => author.display ?? authors.get(author.reference ?? '') ?? author.reference ?? '').filter(Boolean).join(', ') || '—';

export const titleOf = (document: DocumentReference) =>
  document.description ?? document.type?.text ?? document.type?.coding?.find((coding) => coding.display)?.display ?? document.type?.coding?.[0]?.code ?? t('untitled');

export const typeKeyOf = (document: DocumentReference) => {
  const coding = document.type?.coding?.[0];
  return coding?.code ? `${coding.system ?? ''}|${coding.code}` : undefined;
};

export const typeLabelOf = (document: DocumentReference) => document.type?.coding?.find((coding) => coding.display)?.display ?? document.type?.text ?? document.type?.coding?.[0]?.code ?? t('untitled');

export const dateOf = (document: DocumentReference) => document.date ?? document.context?.period?.start ?? document.meta?.lastUpdated;

/** The hide-document choices naming document `id`. */
export const hidingsOf = (choices: Consent[], id: string | undefined) => choices.filter((consent) => kindOf(consent) === 'hide-document' && documentsOf(consent).includes(id ?? ''));

export const hideAllOf = (choices: Consent[]) => choices.filter((consent) => kindOf(consent) === 'hide-all');

/** The badges of a document: its label, and the hide-document choices (from everyone, or from N professionals). */
export function badgesOf(document: DocumentReference, choices: Consent[]): string[] {
  const badges: string[] = [];
  if (maskedByLabel(document)) badges.push(t('documents.maskedByAuthor'));
  const hidings = hidingsOf(choices, document.id);
  if (hidings.some((consent) => actorsOf(consent).length === 0)) badges.push(t('documents.hiddenAll'));
  else {
    const actors = new Set(hidings.flatMap(actorsOf));
    if (actors.size > 0) badges.push(t('documents.hiddenSome', { count: actors.size }));
  }
  return badges;
}
