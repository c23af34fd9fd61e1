/**
 * Profiles a resource must meet without claiming them (CONTRACT §2, §4.2):
 * every Consent carrying a consent-kind category is checked against the
 * profile of that kind, `carnet-consent-<kind>`, dropped in profiles/. The
 * table below says which coding implies which profile; the profiles
 * themselves are data. Never decides access: only which profiles apply.
 */
import type { IssueDetail } from '../kernel/errors';

interface ImpliedProfileRule {
  resourceType: string;
  /** The element holding the CodeableConcept(s) that imply a profile. */
  element: string;
  system: string;
  profileFor: (code: string) => string;
  what: string;
}

const CARNET = 'https://carnet.example.org/fhir';

const RULES: ImpliedProfileRule[] = [
  {
    resourceType: 'Consent',
    element: 'category',
    system: `${CARNET}/CodeSystem/consent-kind`,
    profileFor: (code) => `${CARNET}/StructureDefinition/carnet-consent-${code}`,
    what: 'consent kind',
  },
];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

export interface ImpliedProfiles {
  profiles: string[];
  issues: IssueDetail[];
}

/** The profiles `resource` implies, and an error for each implying code without a known profile. */
export function impliedProfiles(resource: Record<string, unknown>, known: (url: string) => boolean): ImpliedProfiles {
  const out: ImpliedProfiles = { profiles: [], issues: [] };
  for (const rule of RULES) {
    if (resource.resourceType !== rule.resourceType) continue;
    const concepts = asArray(resource[rule.element]);
    concepts.forEach((concept, i) => {
      const codings = isObject(concept) ? asArray(concept.coding) : [];
      codings.forEach((coding, j) => {
        if (!isObject(coding) || coding.system !== rule.system || typeof coding.code !== 'string') return;
        const url = rule.profileFor(coding.code);
        if (known(url)) out.profiles.push(url);
        else {
          const at = `${rule.resourceType}.${rule.element}${Array.isArray(resource[rule.element]) ? `[${i}]` : ''}.coding[${j}]`;
          out.issues.push({ severity: 'error', code: 'code-invalid', message: `Unknown ${rule.what} '${coding.code}' (no profile ${url})`, expression: [at] });
        }
      });
    });
  }
  return out;
}
