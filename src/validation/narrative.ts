/**
 * A cheap stand-in for txt-1/txt-2 (whose FHIRPath is `htmlChecks()`, which
 * fhirpath.js cannot run): the narrative is an XHTML `<div>` in the XHTML
 * namespace, has some content, uses only XML's predefined or numeric
 * entities, and carries nothing active (script, frames, embedded objects,
 * forms, event-handler attributes, `javascript:` URLs). Not an XML parser:
 * it never accepts what it cannot see, and never rewrites the narrative.
 */
import type { IssueDetail } from '../kernel/errors';

const FORBIDDEN_ELEMENTS = /<\s*(script|iframe|frame|frameset|object|embed|applet|form|input|button|textarea|select|style|link|meta|base)\b/i;
const EVENT_ATTRIBUTE = /<[^>]*\s(on[a-z]+)\s*=/i;
const SCRIPT_URL = /(href|src)\s*=\s*["']?\s*(javascript|vbscript|data\s*:\s*text\/html)/i;
const ENTITY = /&([^;\s&]*);?/g;
const XML_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

const TXT_1 = 'txt-1: The narrative SHALL contain only the basic html formatting elements and attributes';

function issue(code: IssueDetail['code'], message: string, expression: string): IssueDetail {
  return { severity: 'error', code, message, expression: [expression] };
}

function badEntity(div: string): string | undefined {
  for (const match of div.matchAll(ENTITY)) {
    const [whole, name] = match;
    if (!whole.endsWith(';')) return whole;
    if (XML_ENTITIES.has(name) || /^#[0-9]+$/.test(name) || /^#x[0-9a-fA-F]+$/.test(name)) continue;
    return whole;
  }
  return undefined;
}

export function narrativeIssues(div: string, expression: string): IssueDetail[] {
  const issues: IssueDetail[] = [];
  const trimmed = div.trim();
  if (!/^<div[\s>]/.test(trimmed) || !/<\/div>$/.test(trimmed)) {
    issues.push(issue('value', 'The narrative must be a single XHTML <div> element', expression));
  } else if (!/^<div[^>]*\sxmlns\s*=\s*["']http:\/\/www\.w3\.org\/1999\/xhtml["']/.test(trimmed)) {
    issues.push(issue('value', 'The narrative <div> must be in the XHTML namespace (xmlns="http://www.w3.org/1999/xhtml")', expression));
  }
  const element = FORBIDDEN_ELEMENTS.exec(div);
  if (element) issues.push(issue('invariant', `${TXT_1}: element <${element[1].toLowerCase()}> is not allowed`, expression));
  const attribute = EVENT_ATTRIBUTE.exec(div);
  if (attribute) issues.push(issue('invariant', `${TXT_1}: attribute '${attribute[1]}' is not allowed`, expression));
  if (SCRIPT_URL.test(div)) issues.push(issue('invariant', `${TXT_1}: active URLs are not allowed`, expression));
  const entity = badEntity(div);
  if (entity) issues.push(issue('value', `Invalid entity in the XHTML ('${entity}'): only &amp; &lt; &gt; &quot; &apos; and numeric entities are allowed`, expression));
  const text = div.replace(/<[^>]*>/g, '').trim();
  if (text.length === 0 && !/<img\b/i.test(div)) {
    issues.push(issue('invariant', 'txt-2: The narrative SHALL have some non-whitespace content', expression));
  }
  return issues;
}
