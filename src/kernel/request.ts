/**
 * The transport-free FHIR request and response. `http/` builds a FhirRequest
 * from Express and writes a FhirResponse back; nothing under `fhir/` knows HTTP.
 */
import type { Resource } from 'fhir/r4';
import type { BinaryBody } from './binary-content';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/** Query parameters in order, repeated names kept (AND semantics for search). */
export type QueryParams = [string, string][];

export interface FhirRequest {
  method: Method;
  /** Path below the FHIR base, without leading slash: `Patient/1/_history/2`. */
  path: string;
  query: QueryParams;
  body?: unknown;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** Set when the request is an entry of a batch or transaction: that Bundle's request. */
  bundle?: FhirRequest;
  /** A POST entry of a transaction is created with the id the transaction assigned (its urn:uuid target). */
  assignedId?: string;
}

export interface FhirResponse {
  status: number;
  body?: Resource;
  /** A write's resource as stored, whatever the body (`Prefer: return=minimal` has none): the audit reads its patients from it. */
  written?: Resource;
  headers?: Record<string, string>;
  /** The raw bytes of a Binary read (ITI-68), instead of a body: http/binary.ts streams them, ranges included. */
  content?: BinaryBody;
}

export function header(request: FhirRequest, name: string): string | undefined {
  return request.headers[name.toLowerCase()];
}

export function queryValue(query: QueryParams, name: string): string | undefined {
  return query.find(([key]) => key === name)?.[1];
}

/**
 * The one key of conditional criteria: sorted, `_format` left out, so
 * `b=2&a=1` and `a=1&b=2` name the same conditional target (a Bundle's claims
 * and cached resolutions) and take the same advisory lock.
 */
export function criteriaKey(type: string, query: QueryParams): string {
  const sorted = query.filter(([key]) => key !== '_format').map(([key, value]) => `${key}=${value}`).sort();
  return `${type}?${sorted.join('&')}`;
}
