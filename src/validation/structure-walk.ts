/**
 * One walk over a resource along the element model: what the JSON schema
 * misses (null values, empty arrays, empty objects and strings, missing
 * required elements, max cardinality, primitive/`_x` alignment, Attachment
 * size against its data, absolute Bundle.entry.fullUrl), the natively
 * checked invariants ele-1 (an element has a value or children) and ext-1 (an
 * extension has a value or nested extensions, not both), the narrative
 * checks, and the list of places where FHIRPath constraints apply and of
 * nested resources (contained, Bundle entries, Parameters) to validate next.
 * Never evaluates FHIRPath and never validates a nested resource itself.
 */
import type { IssueDetail } from '../kernel/errors';
import type { ConstraintDef, ElementModel, ElementNode, TypeNode } from '../kernel/element-model';
import { childNode, indexExpression, memberExpression, unknownMemberExpression } from './expression-path';
import { narrativeIssues } from './narrative';

/** A constraint to evaluate on a node of the instance. */
export interface ConstraintSite {
  constraint: ConstraintDef;
  node: unknown;
  expression: string;
}

export interface NestedResource {
  resource: unknown;
  expression: string;
  /** contained resources share the container's %rootResource; Bundle and Parameters entries are their own root. */
  contained: boolean;
}

export interface WalkResult {
  issues: IssueDetail[];
  sites: ConstraintSite[];
  nested: NestedResource[];
  /** Elements nested deeper than MAX_ELEMENT_DEPTH: the resource was not walked further (nor should the schema be run). */
  tooDeep: boolean;
}

/** No real resource nests elements this deep; deeper input is refused before it can exhaust the stack. */
export const MAX_ELEMENT_DEPTH = 100;

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

function error(code: IssueDetail['code'], message: string, expression: string): IssueDetail {
  return { severity: 'error', code, message, expression: [expression] };
}

export class StructureWalk {
  constructor(private readonly model: ElementModel) {}

  /** Walks a resource whose resourceType is known to the model. */
  resource(resource: JsonObject, expression: string): WalkResult {
    const out: WalkResult = { issues: [], sites: [], nested: [], tooDeep: false };
    const node = this.model.type(resource.resourceType as string);
    if (node) this.object(node, resource, expression, out, 0);
    return out;
  }

  private object(node: TypeNode, obj: JsonObject, expression: string, out: WalkResult, depth: number): void {
    if (depth > MAX_ELEMENT_DEPTH) {
      if (!out.tooDeep) out.issues.push(error('too-costly', `Elements nested deeper than ${MAX_ELEMENT_DEPTH} levels are not accepted`, expression));
      out.tooDeep = true;
      return;
    }
    const keys = Object.keys(obj);
    const content = keys.filter((key) => key !== 'id' && key !== 'resourceType');
    if (content.length === 0 && node.kind !== 'resource') {
      out.issues.push(error('structure', 'ele-1: All FHIR elements must have a @value or children', expression));
    }
    for (const constraint of node.constraints) out.sites.push({ constraint, node: obj, expression });
    for (const key of keys) {
      if (key === 'resourceType' && node.kind === 'resource') continue;
      if (key.startsWith('_')) {
        this.primitiveExtension(node, obj, key, expression, out, depth);
        continue;
      }
      const element = node.byKey.get(key);
      if (!element) {
        out.issues.push(error('structure', `Unknown element '${key}'`, unknownMemberExpression(expression, key)));
        continue;
      }
      this.element(element, key, obj[key], obj[`_${key}`], memberExpression(expression, element, key), out, depth);
    }
    for (const element of node.required) {
      if (!this.present(element, obj)) {
        out.issues.push(error('required', `Missing required element '${element.name}${element.choice ? '[x]' : ''}' (minimum cardinality ${element.min})`, `${expression}.${element.name}`));
      }
    }
    if (node.path === 'Extension') this.extensionRule(obj, expression, out);
    if (node.path === 'Attachment') this.attachmentSize(obj, expression, out);
    if (node.path === 'Bundle.entry' && typeof obj.fullUrl === 'string' && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(obj.fullUrl)) {
      out.issues.push(error('value', `Bundle.entry.fullUrl must be an absolute URL (not '${obj.fullUrl.slice(0, 80)}')`, `${expression}.fullUrl`));
    }
  }

  /** Attachment.size is the number of bytes of `data` once decoded: they must agree. */
  private attachmentSize(obj: JsonObject, expression: string, out: WalkResult): void {
    if (typeof obj.data !== 'string' || typeof obj.size !== 'number') return;
    const compact = obj.data.replace(/\s+/g, '');
    const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
    const decoded = (compact.length / 4) * 3 - padding;
    if (Number.isInteger(decoded) && decoded !== obj.size) {
      out.issues.push(error('value', `Stated attachment size ${obj.size} does not match the actual size of the data (${decoded} bytes)`, `${expression}.size`));
    }
  }

  private present(element: ElementNode, obj: JsonObject): boolean {
    for (const key of element.keys.keys()) if (obj[key] !== undefined || obj[`_${key}`] !== undefined) return true;
    return false;
  }

  private element(element: ElementNode, key: string, value: unknown, companion: unknown, expression: string, out: WalkResult, depth: number): void {
    const code = element.keys.get(key) ?? '';
    const primitive = this.model.isPrimitive(code);
    if (value === null) {
      out.issues.push(error('structure', 'null is not a valid value: omit the element instead', expression));
      return;
    }
    if (!Array.isArray(value)) {
      this.value(element, code, value, expression, out, depth);
      return;
    }
    if (!element.isArray) return; // the schema reports the wrong JSON type
    if (value.length === 0) {
      out.issues.push(error('structure', 'Array cannot be empty: omit the element if it has no values', expression));
      return;
    }
    if (value.length > element.max) {
      out.issues.push(error('structure', `Too many repetitions: ${value.length} (maximum ${element.max})`, expression));
    }
    const extensions = Array.isArray(companion) ? companion : [];
    value.forEach((item, index) => {
      const itemExpression = indexExpression(expression, index);
      if (item === null) {
        if (!primitive || !isObject(extensions[index])) out.issues.push(error('structure', 'null is not a valid value in this array', itemExpression));
        return;
      }
      this.value(element, code, item, itemExpression, out, depth);
    });
  }

  private value(element: ElementNode, code: string, value: unknown, expression: string, out: WalkResult, depth: number): void {
    for (const constraint of element.constraints) out.sites.push({ constraint, node: value, expression });
    if (code === 'Resource') {
      out.nested.push({ resource: value, expression, contained: element.path.endsWith('.contained') });
      return;
    }
    if (this.model.isPrimitive(code)) {
      if (value === '') out.issues.push(error('value', 'Empty strings are not allowed: omit the element instead', expression));
      else if (code === 'xhtml' && typeof value === 'string') out.issues.push(...narrativeIssues(value, expression));
      return;
    }
    const node = childNode(this.model, element, code, false);
    if (node && isObject(value)) this.object(node, value, expression, out, depth + 1);
  }

  /** `_given` next to `given`: same length, object or null items, each with content. */
  private primitiveExtension(node: TypeNode, obj: JsonObject, key: string, expression: string, out: WalkResult, depth: number): void {
    const name = key.slice(1);
    const element = node.byKey.get(name);
    const code = element?.keys.get(name);
    if (!element || !code || !this.model.isPrimitive(code)) {
      out.issues.push(error('structure', `Unknown element '${key}'`, unknownMemberExpression(expression, key)));
      return;
    }
    const memberExpr = memberExpression(expression, element, name);
    const elementNode = this.model.type('Element');
    const values = obj[name];
    const companion = obj[key];
    const check = (item: unknown, itemExpression: string, hasValue: boolean) => {
      if (item === null) {
        if (!hasValue) out.issues.push(error('structure', 'null is not a valid value in this array', itemExpression));
        return;
      }
      if (!isObject(item) || !elementNode) return; // the schema reports the wrong JSON type
      const content = Object.keys(item).filter((k) => k !== 'id');
      if (content.length === 0 && !hasValue) out.issues.push(error('structure', 'ele-1: All FHIR elements must have a @value or children', itemExpression));
      else if (content.length > 0) this.object(elementNode, item, itemExpression, out, depth + 1);
    };
    if (!Array.isArray(companion)) {
      if (companion === null) out.issues.push(error('structure', 'null is not a valid value: omit the element instead', memberExpr));
      else check(companion, memberExpr, values !== undefined && values !== null);
      return;
    }
    if (companion.length === 0) {
      out.issues.push(error('structure', 'Array cannot be empty: omit the element if it has no values', memberExpr));
      return;
    }
    if (Array.isArray(values) && values.length !== companion.length) {
      out.issues.push(error('structure', `'${key}' must have as many items as '${name}' (${companion.length} vs ${values.length})`, memberExpr));
    }
    const valueItems: unknown[] = Array.isArray(values) ? values : [];
    companion.forEach((item, index) => {
      const hasValue = valueItems[index] !== undefined && valueItems[index] !== null;
      check(item, indexExpression(memberExpr, index), hasValue);
    });
    if (!Array.isArray(values)) {
      if (element.isArray && companion.length > element.max) out.issues.push(error('structure', `Too many repetitions: ${companion.length} (maximum ${element.max})`, memberExpr));
    }
  }

  /** ext-1, natively: an extension has nested extensions or a value[x], never both and never neither. */
  private extensionRule(obj: JsonObject, expression: string, out: WalkResult): void {
    const hasExtensions = Array.isArray(obj.extension) && obj.extension.length > 0;
    const hasValue = Object.keys(obj).some((key) => /^_?value[A-Z]/.test(key));
    if (hasExtensions === hasValue) {
      out.issues.push({ severity: 'error', code: 'invariant', message: 'ext-1: Must have either extensions or value[x], not both', expression: [expression] });
    }
  }
}
