/**
 * FHIRPath expressions for the elements of an instance: `Patient.name[0].given[1]`,
 * `Observation.value.ofType(Quantity)`, and the conversion of a JSON pointer
 * (ajv's instancePath) into such an expression using the element model.
 * Owns only the spelling of locations: never decides whether anything is valid.
 */
import type { ElementModel, ElementNode, TypeNode } from '../kernel/element-model';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `parent.name`, or `parent.value.ofType(Quantity)` for a choice element. */
export function memberExpression(parent: string, element: ElementNode, key: string): string {
  if (!element.choice) return `${parent}.${element.name}`;
  return `${parent}.${element.name}.ofType(${element.keys.get(key) ?? key.slice(element.name.length)})`;
}

/** A property the model does not know, quoted when it is not a FHIRPath identifier. */
export function unknownMemberExpression(parent: string, key: string): string {
  return IDENTIFIER.test(key) ? `${parent}.${key}` : `${parent}.\`${key.replace(/`/g, '\\`')}\``;
}

export function indexExpression(expression: string, index: number): string {
  return `${expression}[${index}]`;
}

/** The node describing the content of `element` when it holds a value of type `code`. */
export function childNode(model: ElementModel, element: ElementNode, code: string, primitiveExtension: boolean): TypeNode | undefined {
  if (primitiveExtension) return model.type('Element');
  if (element.inline) return element.inline;
  if (model.isPrimitive(code) || code === 'Resource') return undefined;
  return model.type(code);
}

function decodePointerSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Converts a JSON pointer relative to a node of type `root` into a FHIRPath
 * expression prefixed by `prefix`: `/name/0/_given/1` → `Patient.name[0].given[1]`.
 */
export function pointerToExpression(model: ElementModel, root: TypeNode | undefined, prefix: string, pointer: string): string {
  let expression = prefix;
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = decodePointerSegment(raw);
    if (/^\d+$/.test(segment)) {
      expression = indexExpression(expression, Number(segment));
      continue;
    }
    const named = segment.startsWith('_') ? node?.byKey.get(segment.slice(1)) : undefined;
    const primitiveExtension = named !== undefined && model.isPrimitive(named.keys.get(segment.slice(1)) ?? '');
    const key = primitiveExtension ? segment.slice(1) : segment;
    const element = node?.byKey.get(key);
    if (!element) {
      expression = unknownMemberExpression(expression, segment);
      node = undefined;
      continue;
    }
    expression = memberExpression(expression, element, key);
    node = childNode(model, element, element.keys.get(key) ?? '', primitiveExtension);
  }
  return expression;
}

/** The raw value at a JSON pointer, for error messages. */
export function valueAtPointer(data: unknown, pointer: string): unknown {
  let current = data;
  for (const raw of pointer.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[decodePointerSegment(raw)];
  }
  return current;
}
