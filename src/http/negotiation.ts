/**
 * Response format negotiation: Carnet speaks FHIR JSON only. `_format` and
 * `Accept` asking for anything else → 406.
 */
import { FhirError } from '../kernel/errors';

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'fhir+json', 'application/json+fhir']);

export function requireJsonResponse(format: string | undefined, accept: string | undefined): void {
  if (format !== undefined) {
    const mediaType = format.split(';')[0].trim().toLowerCase();
    if (!JSON_FORMATS.has(mediaType)) throw new FhirError(406, 'not-supported', `_format ${format.slice(0, 40)} is not supported; this server speaks FHIR JSON`);
    return;
  }
  if (!accept) return;
  const acceptable = accept.split(',').some((part) => {
    const mediaType = part.split(';')[0].trim().toLowerCase();
    return mediaType === '*/*' || mediaType === 'application/*' || JSON_FORMATS.has(mediaType);
  });
  if (!acceptable) throw new FhirError(406, 'not-supported', `cannot produce ${accept.slice(0, 60)}; this server speaks application/fhir+json`);
}

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';
