/**
 * IHE MHD ITI-65 "Provide Document Bundle" (CONTRACT §9): what makes a
 * transaction Bundle an MHD submission, which metadata option it is sent
 * under, and the profiles each of its entries must meet — the IHE MHD 4.2
 * ones of that option, besides any (ANS PDSm included) an entry claims in
 * `meta.profile`, which the validator applies anyway. Then, once the
 * transaction has resolved its references, the rules that bind the entries
 * together: one patient for the SubmissionSet, every DocumentReference, every
 * Folder and every Binary securityContext; and the documents each
 * DocumentReference `replaces`.
 * Pure: reads the Bundle only; never reads the store and never decides access.
 */
import type { Binary, Bundle, DocumentReference, List, Resource } from 'fhir/r4';
import { badRequest, unprocessable } from '../kernel/errors';
import { localReference } from '../kernel/reference';

export const MHD_LIST_TYPES = 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes';
export const MHD_PROFILE_BASE = 'https://profiles.ihe.net/ITI/MHD/StructureDefinition/';
const PDSM_PROFILE_BASE = 'https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/';

/** The IHE MHD metadata options (ITI TF-2 3.65.4.1.2.1). */
export type MhdOption = 'Minimal' | 'Comprehensive' | 'UnContained.Comprehensive';

/** The entry of a transaction as the MHD rules read it (api/bundle/entries.ts EntryPlan fits). */
export interface SubmittedEntry {
  index: number;
  method: string;
  type: string;
  resource?: Resource;
}

/** The profile an entry (or, at `index` undefined, the Bundle itself) must meet under the submission's option. */
export interface RequiredProfile {
  index?: number;
  url: string;
}

export interface ProvideBundle {
  option: MhdOption;
  /** Entry index of the SubmissionSet List. */
  submissionSet: number;
  profiles: RequiredProfile[];
}

const OPTIONS: readonly MhdOption[] = ['UnContained.Comprehensive', 'Comprehensive', 'Minimal'];

/** The Bundle profiles that name an option: IHE's own, and PDSm's (a comprehensive one). */
const BUNDLE_PROFILES: ReadonlyMap<string, MhdOption> = new Map<string, MhdOption>([
  ...OPTIONS.map((option): [string, MhdOption] => [`${MHD_PROFILE_BASE}IHE.MHD.${option}.ProvideBundle`, option]),
  [`${PDSM_PROFILE_BASE}pdsm-comprehensive-provide-document-bundle`, 'Comprehensive'],
]);

const profilesOf = (resource: Resource | undefined): string[] => (Array.isArray(resource?.meta?.profile) ? resource.meta.profile.filter((p): p is string => typeof p === 'string') : []);

/** `submissionset` or `folder` when the resource is a List of that MHD type. */
export function mhdListType(resource: Resource | undefined): 'submissionset' | 'folder' | undefined {
  if (resource?.resourceType !== 'List') return undefined;
  const codings = (resource as List).code?.coding;
  const code = Array.isArray(codings) ? codings.find((coding) => coding?.system === MHD_LIST_TYPES)?.code : undefined;
  return code === 'submissionset' || code === 'folder' ? code : undefined;
}

/**
 * The submission a transaction Bundle is, if any: one holding a SubmissionSet List, or one
 * claiming an ITI-65 Bundle profile (which then must hold exactly one, else 422).
 */
export function provideBundleOf(bundle: Bundle, entries: readonly SubmittedEntry[]): ProvideBundle | undefined {
  const sets = entries.filter((entry) => entry.resource && mhdListType(entry.resource) === 'submissionset');
  const claimed = profilesOf(bundle as Resource).map((url) => BUNDLE_PROFILES.get(url)).find((option) => option !== undefined);
  if (sets.length === 0 && claimed === undefined) return undefined;
  if (sets.length !== 1) {
    throw unprocessable(`an ITI-65 Provide Document Bundle holds exactly one SubmissionSet List (List.code ${MHD_LIST_TYPES}|submissionset); this one holds ${sets.length}`, 'Bundle.entry');
  }
  const submissionSet = sets[0];
  if (submissionSet.method !== 'POST') throw badRequest(`Bundle.entry[${submissionSet.index}]: a SubmissionSet is created (POST), never updated`, `Bundle.entry[${submissionSet.index}].request.method`);
  const option = claimed ?? optionClaimedBy(submissionSet.resource) ?? 'Minimal';
  return { option, submissionSet: submissionSet.index, profiles: requiredProfiles(option, entries) };
}

/** The option a SubmissionSet's own IHE profile names. */
function optionClaimedBy(resource: Resource | undefined): MhdOption | undefined {
  const claimed = profilesOf(resource);
  if (claimed.some((url) => url.startsWith(PDSM_PROFILE_BASE))) return 'Comprehensive';
  return OPTIONS.find((option) => claimed.includes(`${MHD_PROFILE_BASE}IHE.MHD.${option}.SubmissionSet`));
}

/** The Bundle, its Lists and its DocumentReferences under the option's IHE profiles. */
function requiredProfiles(option: MhdOption, entries: readonly SubmittedEntry[]): RequiredProfile[] {
  const folder = option === 'Minimal' ? 'Minimal' : 'Comprehensive'; // MHD has no UnContained Folder
  const profiles: RequiredProfile[] = [{ url: `${MHD_PROFILE_BASE}IHE.MHD.${option}.ProvideBundle` }];
  for (const entry of entries) {
    if (!entry.resource || (entry.method !== 'POST' && entry.method !== 'PUT')) continue;
    const listType = mhdListType(entry.resource);
    if (listType === 'submissionset') profiles.push({ index: entry.index, url: `${MHD_PROFILE_BASE}IHE.MHD.${option}.SubmissionSet` });
    else if (listType === 'folder') profiles.push({ index: entry.index, url: `${MHD_PROFILE_BASE}IHE.MHD.${folder}.Folder` });
    else if (entry.resource.resourceType === 'DocumentReference') profiles.push({ index: entry.index, url: `${MHD_PROFILE_BASE}IHE.MHD.${option}.DocumentReference` });
  }
  return profiles;
}

const at = (entry: SubmittedEntry, path: string) => `Bundle.entry[${entry.index}].resource.${path}`;

/** `Patient/id` a reference names on this server, else undefined. */
function patientOf(reference: string | undefined, baseUrl: string): string | undefined {
  const parsed = localReference(reference, baseUrl);
  return parsed?.type === 'Patient' ? `Patient/${parsed.id}` : undefined;
}

/**
 * One submission is about one patient (CONTRACT §9): the SubmissionSet's subject, once the
 * transaction resolved it (urn:uuid of an entry, conditional reference on INS-NIR), is the
 * subject of every DocumentReference and Folder written, and what every Binary's securityContext
 * names (that patient, or one of the submission's DocumentReferences). 422 naming the entry.
 * `written`: `Type/id` of every resource the entries write (the ids the transaction assigned).
 * Returns the patient (`Patient/id`).
 */
export function submissionPatient(submission: ProvideBundle, entries: readonly SubmittedEntry[], baseUrl: string, written: ReadonlySet<string>): string {
  const set = entries.find((entry) => entry.index === submission.submissionSet) as SubmittedEntry;
  const patient = patientOf((set.resource as List).subject?.reference, baseUrl);
  if (!patient) throw unprocessable(`${at(set, 'subject')}: the SubmissionSet must name the patient of this server the submission is about`, at(set, 'subject'));
  for (const entry of entries) {
    const resource = entry.resource;
    if (!resource || (entry.method !== 'POST' && entry.method !== 'PUT')) continue;
    if (resource.resourceType === 'DocumentReference' && patientOf((resource as DocumentReference).subject?.reference, baseUrl) !== patient) throw samePatient(entry, 'subject', 'DocumentReference');
    if (mhdListType(resource) === 'folder' && patientOf((resource as List).subject?.reference, baseUrl) !== patient) throw samePatient(entry, 'subject', 'Folder');
    if (resource.resourceType === 'Binary' && (resource as Binary).securityContext !== undefined) {
      const named = localReference((resource as Binary).securityContext?.reference, baseUrl);
      const target = named ? `${named.type}/${named.id}` : undefined;
      if (target !== patient && !(target?.startsWith('DocumentReference/') && written.has(target))) {
        throw unprocessable(`${at(entry, 'securityContext')}: a Binary of the submission names its patient or one of its DocumentReferences`, at(entry, 'securityContext'));
      }
    }
  }
  return patient;
}

function samePatient(entry: SubmittedEntry, path: string, what: string) {
  return unprocessable(`${at(entry, path)}: the ${what} must name the SubmissionSet's patient (one submission is about one patient)`, at(entry, path));
}

/** A DocumentReference of the submission that replaces a document of this server. */
export interface Replacement {
  /** The replacing entry, and where its relatesTo names the target. */
  index: number;
  expression: string;
  /** The replaced document's id. */
  target: string;
}

/** The documents the submission's DocumentReferences replace (`relatesTo.code = replaces`), after the references were resolved. */
export function replacementsOf(entries: readonly SubmittedEntry[], baseUrl: string): Replacement[] {
  const replacements: Replacement[] = [];
  for (const entry of entries) {
    if (entry.resource?.resourceType !== 'DocumentReference' || entry.method !== 'POST') continue;
    const relations = (entry.resource as DocumentReference).relatesTo;
    if (!Array.isArray(relations)) continue;
    relations.forEach((relation, position) => {
      if (relation?.code !== 'replaces') return;
      const expression = at(entry, `relatesTo[${position}].target`);
      const target = localReference(relation.target?.reference, baseUrl);
      if (target?.type !== 'DocumentReference') throw unprocessable(`${expression}: a replaced document is a DocumentReference of this server`, expression);
      replacements.push({ index: entry.index, expression, target: target.id });
    });
  }
  return replacements;
}

/** The uniform refusal of a replacement: the same answer whether the target is hidden, missing, of another patient, not current or not the submitter's. */
export function replacementRefused(replacement: Replacement) {
  return unprocessable(
    `${replacement.expression}: the replaced document must be a current DocumentReference of the submission's patient, submitted by the same author`,
    replacement.expression,
  );
}
