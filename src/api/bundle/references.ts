/**
 * References inside the resources of a Bundle: one walk per resource rewrites
 * every `reference` (at any depth) that names another entry's fullUrl to
 * `Type/id`, every Attachment-style `url` naming one to the absolute URL of
 * that resource, and absolute references on our own base to relative ones;
 * it collects conditional references (`Patient?identifier=…`) for the
 * resolver and the `urn:` references no entry declares. `#contained`
 * references, version-specific ones and foreign URLs are left alone, and a
 * nested Bundle resource (a FHIR document) is never entered. A create outside
 * a Bundle only collects its conditional references (`local` false). Linear
 * in the size of the resource; never touches the store.
 */
import type { Resource } from 'fhir/r4';
import { badRequest } from '../../kernel/errors';
import type { QueryParams } from '../../kernel/request';
import { requireStoredType } from '../../kernel/resource-types';
import { parseQueryText } from './entries';

/** A conditional reference found in a resource, to be replaced once resolved. */
export interface ConditionalSite {
  holder: Record<string, unknown>;
  reference: ConditionalReference;
  /** FHIRPath of the `reference` element, e.g. `Bundle.entry[3].resource.subject.reference`. */
  expression: string;
}

export interface ConditionalReference {
  text: string;
  type: string;
  query: QueryParams;
}

export interface WalkResult {
  conditional: ConditionalSite[];
  /** `urn:uuid:`/`urn:oid:` references that name no entry of the Bundle. */
  unresolved: { value: string; expression: string }[];
}

const CONDITIONAL = /^([A-Za-z][A-Za-z0-9]*)\?(.*)$/s;

/**
 * Rewrites `resource` in place. `targets` maps fullUrls to `Type/id`;
 * `rootExpression` is the FHIRPath of the resource (`Bundle.entry[3].resource`).
 * With `local` false, references on our base and `urn:` ones are left as they are.
 */
export function rewriteReferences(resource: Resource, targets: ReadonlyMap<string, string>, baseUrl: string, rootExpression: string, local = true): WalkResult {
  const result: WalkResult = { conditional: [], unresolved: [] };
  const base = `${baseUrl.replace(/\/+$/, '')}/`;
  const path: string[] = [rootExpression];
  const expressionOf = (key: string) => [...path, key].join('.').replace(/\.\[/g, '[');

  const visit = (node: Record<string, unknown>): void => {
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (typeof value === 'string') {
        if (key === 'reference') rewriteReference(node, value, key);
        else if (key === 'url') {
          const target = targets.get(value);
          if (target !== undefined) node.url = `${base}${target}`;
        }
      } else if (typeof value === 'object' && value !== null) {
        path.push(key);
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const item: unknown = value[i];
            if (typeof item === 'object' && item !== null && !Array.isArray(item) && !isNestedBundle(item)) {
              path.push(`[${i}]`);
              visit(item as Record<string, unknown>);
              path.pop();
            }
          }
        } else if (!isNestedBundle(value)) visit(value as Record<string, unknown>);
        path.pop();
      }
    }
  };

  const rewriteReference = (node: Record<string, unknown>, value: string, key: string): void => {
    if (value.startsWith('#')) return;
    const target = targets.get(value);
    if (target !== undefined) {
      node.reference = target;
      return;
    }
    if (local && value.startsWith(base)) {
      node.reference = value.slice(base.length);
      return;
    }
    if (local && (value.startsWith('urn:uuid:') || value.startsWith('urn:oid:'))) {
      result.unresolved.push({ value, expression: expressionOf(key) });
      return;
    }
    const match = CONDITIONAL.exec(value);
    if (match) {
      const expression = expressionOf(key);
      result.conditional.push({ holder: node, reference: parseConditionalReference(value, expression), expression });
    }
  };

  if (!isNestedBundle(resource)) visit(resource as unknown as Record<string, unknown>);
  return result;
}

function isNestedBundle(node: object): boolean {
  return (node as { resourceType?: unknown }).resourceType === 'Bundle';
}

/**
 * `Patient?identifier=sys|val` → type and criteria; 400 naming `expression`
 * for an unknown type or criteria that are empty or have an empty parameter.
 */
export function parseConditionalReference(text: string, expression: string): ConditionalReference {
  const match = CONDITIONAL.exec(text);
  if (!match) throw badRequest(`the conditional reference "${text.slice(0, 100)}" is not of the form Type?criteria`, expression);
  const [, type, criteria] = match;
  try {
    requireStoredType(type, 'reference');
  } catch {
    throw badRequest(`the conditional reference "${text.slice(0, 100)}" names an unknown resource type ${type.slice(0, 64)}`, expression);
  }
  const query = parseQueryText(criteria, expression);
  if (query.length === 0) throw badRequest(`the conditional reference "${text.slice(0, 100)}" has no search criteria`, expression);
  for (const [key, value] of query) {
    if (key === '' || value === '') throw badRequest(`the conditional reference "${text.slice(0, 100)}" has an empty parameter or value`, expression);
  }
  return { text, type, query };
}

/** A token value that is only a system (`urn:oid:1.2.250…` with no `|value`): the usual mistake. */
export function systemWithoutValue(query: QueryParams): string | undefined {
  return query.find(([, value]) => !value.includes('|') && /^(urn:(oid|uuid):|https?:\/\/)/i.test(value))?.[1];
}

/** Replaces query values that name a Bundle entry's fullUrl (`subject=urn:uuid:…`) by `Type/id`. */
export function rewriteQuery(query: QueryParams, targets: ReadonlyMap<string, string>): QueryParams {
  return query.map(([key, value]) => [key, targets.get(value) ?? value]);
}
