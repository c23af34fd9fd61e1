/**
 * Which patients a search names (CONTRACT §4.3 step 5): the ids in its
 * `patient` and `subject` parameters (`X`, `Patient/X`, `subject:Patient=X`,
 * an absolute URL on our base), and `_id` of a Patient search. The search
 * interaction asks the access policy about each before searching, so naming
 * a space the caller may not enter is a 403, not an empty page. Pure.
 */
import type { QueryParams } from '../kernel/request';
import { parseReference } from '../kernel/reference';
import { splitEscaped, unescapeValue } from './text';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function namedPatients(resourceType: string | undefined, query: QueryParams, baseUrl?: string): string[] {
  const found = new Set<string>();
  for (const [key, value] of query) {
    const [code, modifier] = key.split(':');
    if (key.includes('.')) continue; // a chain names the patient's properties, not the patient
    const isPatientId = resourceType === 'Patient' && code === '_id' && modifier === undefined;
    const isReference = (code === 'patient' || code === 'subject') && (modifier === undefined || modifier === 'Patient');
    if (!isPatientId && !isReference) continue;
    for (const raw of splitEscaped(value, ',')) {
      const item = unescapeValue(raw);
      if (ID.test(item)) {
        found.add(item);
        continue;
      }
      const parsed = isReference ? parseReference(item, baseUrl) : undefined;
      if (parsed && parsed.url === null && parsed.targetType === 'Patient' && parsed.targetId) found.add(parsed.targetId);
    }
  }
  return [...found];
}
