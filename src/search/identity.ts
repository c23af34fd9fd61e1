/**
 * The one search that resolves a patient's identity (CONTRACT §3 "Patient
 * identity (INS)"): `Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR>`,
 * exactly that parameter, system and value — as a search, a conditional
 * reference or an `If-None-Exist`. When the caller's access rules find no
 * match, a caller who may resolve (access/patient-identity.ts) is answered
 * the Patient holding that NIR as its identity subset, reported to the audit
 * as disclosed. Any other query keeps the normal rules; never widens them.
 */
import type { QueryParams } from '../kernel/request';
import type { SearchResult, Session } from '../kernel/ports';
import type { StoredResource } from '../kernel/stored';
import { INS_NIR } from '../store/identities';

/** Parameters that change how an answer is presented, not what it matches. */
const PRESENTATION = new Set(['_format', '_pretty']);

/** The NIR of an exact `Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR>` query; undefined for any other query. */
export function nirQueried(resourceType: string | undefined, query: QueryParams): string | undefined {
  if (resourceType !== 'Patient') return undefined;
  const criteria = query.filter(([key]) => !PRESENTATION.has(key));
  if (criteria.length !== 1 || criteria[0][0] !== 'identifier') return undefined;
  const value = criteria[0][1];
  if (!value.startsWith(`${INS_NIR}|`)) return undefined;
  const nir = value.slice(INS_NIR.length + 1);
  return nir !== '' && !nir.includes(',') && !nir.includes('|') ? nir : undefined;
}

/** The Patient holding the queried NIR, resolved for the session's caller (and disclosed), if the query is the exact NIR one. */
async function resolved(session: Session, resourceType: string | undefined, query: QueryParams): Promise<StoredResource | undefined> {
  const nir = nirQueried(resourceType, query);
  if (nir === undefined) return undefined;
  const identity = await session.access.resolveIdentity(nir);
  if (identity) session.audit.disclosed([identity]);
  return identity;
}

/** Matches of a conditional operation or reference: the caller's own, else the identity a NIR resolves to. */
export async function matchOrResolve(session: Session, resourceType: string, query: QueryParams, limit: number): Promise<StoredResource[]> {
  const matches = await session.search.match(resourceType, query, session.access.readable(resourceType), limit);
  if (matches.length > 0) return matches;
  const identity = await resolved(session, resourceType, query);
  return identity ? [identity] : [];
}

/** A search's result, or — when it matched nothing and the query is the exact NIR one — the identity the NIR resolves to. */
export async function searchOrResolve(session: Session, resourceType: string | undefined, query: QueryParams, result: SearchResult): Promise<SearchResult> {
  if (result.matches.length > 0) return result;
  const identity = await resolved(session, resourceType, query);
  if (!identity) return result;
  return { ...result, matches: [identity], ...(result.total !== undefined ? { total: 1 } : {}) };
}
