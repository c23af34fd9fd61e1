/**
 * How a stored resource becomes a response: ETag, Last-Modified, Location,
 * the `Prefer: return=` choice, and the served copy — references to what the
 * caller may not see removed (CONTRACT §4.3 step 7, access/served-references.ts),
 * one query per response. One place, so every interaction agrees.
 */
import type { Resource } from 'fhir/r4';
import { informational } from '../../kernel/errors';
import type { KnownReferences, Session } from '../../kernel/ports';
import { header, type FhirRequest, type FhirResponse } from '../../kernel/request';
import type { ReadCompanions, StoredWithCompanions } from '../../kernel/stored';
import type { StoredResource } from '../../store/resources';

export function versionHeaders(session: Session, stored: StoredResource, withLocation: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    ETag: `W/"${stored.versionId}"`,
    'Last-Modified': stored.lastUpdated.toUTCString(),
  };
  if (withLocation) headers.Location = `${session.baseUrl}/${stored.resourceType}/${stored.id}/_history/${stored.versionId}`;
  return headers;
}

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

export function returnPreference(request: FhirRequest): ReturnPreference {
  const prefer = header(request, 'prefer') ?? '';
  const match = /return=(minimal|representation|OperationOutcome)/i.exec(prefer);
  if (!match) return 'representation';
  const value = match[1].toLowerCase();
  return value === 'minimal' ? 'minimal' : value === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

/**
 * The copies of `resources` served to the caller: every reference to a local
 * resource the caller may not see removed, by one query for all of them. The
 * resources of a Bundle entry are left as stored: the Bundle's response is
 * served whole, once (bundle/entry-response.ts servedEntries).
 */
export async function servedResources<T extends Resource>(request: FhirRequest, session: Session, resources: T[], known?: KnownReferences): Promise<T[]> {
  if (request.bundle) return resources;
  return session.access.served(resources, session.baseUrl, known);
}

/** The served copy of one resource (servedResources). */
export async function servedResource<T extends Resource>(request: FhirRequest, session: Session, resource: T, known?: KnownReferences): Promise<T> {
  const [served] = await servedResources(request, session, [resource], known);
  return served;
}

/** What a read asks beside its row: whether the row's patient may be referenced (ReadCompanions). */
export function readCompanions(session: Session): ReadCompanions {
  return { patient: session.access.referencesReadable(['Patient']) };
}

/** The reference to the row's patient, answered by its read (readCompanions). */
export function knownFromRead(stored: StoredWithCompanions): KnownReferences | undefined {
  return stored.patientId !== null && stored.patientVisible !== undefined ? new Map([[`Patient/${stored.patientId}`, stored.patientVisible]]) : undefined;
}

/** The response to a create/update/patch: status, version headers and the preferred body (`written`: as stored, for the audit). */
export async function writeResponse(request: FhirRequest, session: Session, stored: StoredResource, status: number, message: string, known?: KnownReferences): Promise<FhirResponse> {
  const headers = versionHeaders(session, stored, true);
  const written = stored.content as Resource;
  switch (returnPreference(request)) {
    case 'minimal':
      return { status, headers, written };
    case 'OperationOutcome':
      return { status, headers, body: informational(message), written };
    default:
      return { status, headers, body: await servedResource(request, session, written, known), written };
  }
}
