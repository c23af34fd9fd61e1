/**
 * How a stored resource becomes a response: ETag, Last-Modified, Location,
 * and the `Prefer: return=` choice. One place, so every interaction agrees.
 */
import type { Resource } from 'fhir/r4';
import { informational } from '../../kernel/errors';
import type { Session } from '../../kernel/ports';
import { header, type FhirRequest, type FhirResponse } from '../../kernel/request';
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

/** The response to a create/update/patch: status, version headers and the preferred body. */
export function writeResponse(request: FhirRequest, session: Session, stored: StoredResource, status: number, message: string): FhirResponse {
  const headers = versionHeaders(session, stored, true);
  const written = stored.content as Resource;
  switch (returnPreference(request)) {
    case 'minimal':
      return { status, headers, written };
    case 'OperationOutcome':
      return { status, headers, body: informational(message), written };
    default:
      return { status, headers, body: written, written };
  }
}
