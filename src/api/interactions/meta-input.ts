/**
 * The input of `$meta-add` and `$meta-delete` (resource-operations.html#meta-add,
 * #meta-delete): a Parameters holding one `meta` part (`valueMeta`), read into
 * sets — profiles by URL, tags and security labels by system+code — and the
 * change those sets make to a stored Meta (duplicates never created; deleting
 * what is absent is no error; version and display ignored when matching).
 * The input's versionId, lastUpdated and source are not taken (they are the
 * version's own). Malformed input is a 400 naming the element. A tag or label that means
 * something to the server is never changed here (422): SUBSETTED marks a
 * served subset, never a stored resource; the TRE_A07 visibility statuses are
 * the access rules' words, set on DocumentReference.securityLabel by an update.
 * Pure: reads and writes nothing.
 */
import type { Coding, Meta } from 'fhir/r4';
import { badRequest, unprocessable } from '../../kernel/errors';
import { SUBSETTED } from '../../access/patient-identity';
import { VISIBILITY_SYSTEMS } from '../../access/vocabulary';

export type MetaMode = 'add' | 'delete';

/** What a `meta` parameter names: the sets to add or delete. */
export interface MetaChange {
  profile: string[];
  tag: Coding[];
  security: Coding[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `meta` part of a `$meta-add`/`$meta-delete` body; 400 for anything else. */
export function readMetaParameter(body: unknown): MetaChange {
  if (!isObject(body) || body.resourceType !== 'Parameters') throw badRequest('the body must be a Parameters resource with a meta parameter (valueMeta)', 'Parameters');
  const parameters = body.parameter ?? [];
  if (!Array.isArray(parameters)) throw badRequest('Parameters.parameter must be an array', 'Parameters.parameter');
  let found: { meta: Json; at: string } | undefined;
  parameters.forEach((part: unknown, index) => {
    const at = `Parameters.parameter[${index}]`;
    if (!isObject(part) || typeof part.name !== 'string') throw badRequest('each parameter needs a name', at);
    if (part.name !== 'meta') throw badRequest(`unknown parameter "${part.name.slice(0, 64)}" (only meta is taken)`, `${at}.name`);
    if (found) throw badRequest('the meta parameter is given more than once', at);
    if (!isObject(part.valueMeta)) throw badRequest('the meta parameter must carry a valueMeta', `${at}.valueMeta`);
    found = { meta: part.valueMeta, at: `${at}.valueMeta` };
  });
  if (!found) throw badRequest('no meta parameter (valueMeta) in the Parameters', 'Parameters.parameter');
  return { profile: profilesOf(found.meta.profile, `${found.at}.profile`), tag: codingsOf(found.meta.tag, `${found.at}.tag`), security: codingsOf(found.meta.security, `${found.at}.security`) };
}

function profilesOf(value: unknown, at: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest('meta.profile must be an array of canonical URLs', at);
  return value.map((url, index) => {
    if (typeof url !== 'string' || url.length === 0 || /\s/.test(url)) throw badRequest('a profile must be a canonical URL (a string without whitespace)', `${at}[${index}]`);
    return url;
  });
}

const CODING_FIELDS: Record<string, 'string' | 'boolean'> = { id: 'string', system: 'string', version: 'string', code: 'string', display: 'string', userSelected: 'boolean' };

function codingsOf(value: unknown, at: string): Coding[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest('meta.tag and meta.security must be arrays of Coding', at);
  return value.map((coding, index) => {
    const where = `${at}[${index}]`;
    if (!isObject(coding)) throw badRequest('a tag or security label must be a Coding', where);
    for (const [key, field] of Object.entries(coding)) {
      if (key === 'extension') continue;
      const type = CODING_FIELDS[key];
      if (!type) throw badRequest(`unknown Coding element "${key.slice(0, 64)}"`, `${where}.${key.slice(0, 64)}`);
      if (typeof field !== type || field === '') throw badRequest(`Coding.${key} must be a ${type === 'string' ? 'non-empty string' : 'boolean'}`, `${where}.${key}`);
    }
    if (coding.code === undefined) throw badRequest('a tag or security label needs a code (its identity is system+code)', `${where}.code`);
    return coding as Coding;
  });
}

const keyOf = (coding: Coding) => `${coding.system ?? ''}|${coding.code ?? ''}`;
const same = (a: Coding, b: Coding) => keyOf(a) === keyOf(b);

/** 422 for a tag or label the server gives meaning to (module header). */
export function requireChangeable(change: MetaChange, mode: MetaMode): void {
  change.tag.forEach((tag, index) => {
    if (mode === 'add' && same(tag, SUBSETTED)) throw unprocessable('SUBSETTED marks a served subset of a resource; a stored resource is never tagged SUBSETTED', `Parameters.parameter[0].valueMeta.tag[${index}]`);
  });
  change.security.forEach((label, index) => {
    if (VISIBILITY_SYSTEMS.includes(label.system ?? '')) {
      throw unprocessable(`TRE_A07 visibility labels are the access rules' own: they are set on DocumentReference.securityLabel by an update, never by $meta-${mode}`, `Parameters.parameter[0].valueMeta.security[${index}]`);
    }
  });
}

/** `meta` with the change made: profiles, tags and labels as sets; versionId, lastUpdated and the rest kept. */
export function changedMeta(meta: Meta | undefined, change: MetaChange, mode: MetaMode): Meta {
  const next: Meta = { ...meta };
  const profile = mode === 'add' ? addAll(meta?.profile ?? [], change.profile, (a, b) => a === b) : (meta?.profile ?? []).filter((url) => !change.profile.includes(url));
  const tag = mode === 'add' ? addAll(meta?.tag ?? [], change.tag, same) : (meta?.tag ?? []).filter((t) => !change.tag.some((d) => same(t, d)));
  const security = mode === 'add' ? addAll(meta?.security ?? [], change.security, same) : (meta?.security ?? []).filter((s) => !change.security.some((d) => same(s, d)));
  for (const [key, list] of [['profile', profile], ['tag', tag], ['security', security]] as const) {
    if (list.length > 0) (next as Record<string, unknown>)[key] = list;
    else delete next[key];
  }
  return next;
}

/** `existing` followed by each of `added` not already there (a set: no duplicate created). */
function addAll<T>(existing: readonly T[], added: readonly T[], equal: (a: T, b: T) => boolean): T[] {
  const out = [...existing];
  for (const item of added) if (!out.some((known) => equal(known, item))) out.push(item);
  return out;
}
