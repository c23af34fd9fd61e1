/**
 * FHIRPath Patch (fhirpatch.html): a `Parameters` of `operation`s, each with
 * a `type` (add, insert, delete, replace, move) and a `path` evaluated with
 * fhirpath on the resource; values are `value[x]` or, for anonymous
 * elements, nested parts. MHD's replace bundles PATCH a DocumentReference
 * this way. Applies the operations to a copy and returns it; the caller
 * validates the result like any write. A malformed patch is 400, one that
 * does not apply (a path matching several elements, an index out of range)
 * 422. Never evaluates anything but the FHIRPath of the patch, never mutates
 * its input.
 */
import type { Parameters, ParametersParameter, Resource } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { badRequest, unprocessable } from '../../kernel/errors';

type Json = Record<string, unknown>;

/** What fhirpath's ResourceNode tells about where a value sits in the resource. */
interface Located {
  parent: Json;
  key: string;
  index: number | null;
  value: unknown;
  /** Element path of the node as fhirpath knows it (`Patient`, `HumanName`, `Patient.contact`). */
  path: string | null;
}

interface ResourceNodeLike {
  data: unknown;
  path: string | null;
  propName: string | null;
  index: number | null;
  parentResNode: ResourceNodeLike | null;
}

interface Operation {
  type: 'add' | 'insert' | 'delete' | 'replace' | 'move';
  path: string;
  name?: string;
  value?: unknown;
  valueType?: string;
  index?: number;
  source?: number;
  destination?: number;
  at: string;
}

const TYPES = new Set(['add', 'insert', 'delete', 'replace', 'move']);
const repeating = (r4Model as unknown as { path2Repeating: Record<string, boolean> }).path2Repeating;
const choicePaths = (r4Model as unknown as { choiceTypePaths: Record<string, string[]> }).choiceTypePaths;

export function isFhirPathPatch(body: unknown): body is Parameters {
  return typeof body === 'object' && body !== null && (body as { resourceType?: unknown }).resourceType === 'Parameters';
}

/** The patched copy of `resource`. */
export function applyFhirPathPatch(resource: Resource, patch: Parameters): Resource {
  const operations = (patch.parameter ?? []).map((parameter, i) => readOperation(parameter, `Parameters.parameter[${i}]`));
  if (operations.length === 0) throw badRequest('a FHIRPath Patch needs at least one operation', 'Parameters.parameter');
  const copy = structuredClone(resource);
  for (const operation of operations) applyOperation(copy, operation);
  return copy;
}

function readOperation(parameter: ParametersParameter, at: string): Operation {
  if (parameter.name !== 'operation') throw badRequest(`a FHIRPath Patch holds only "operation" parameters, not "${String(parameter.name).slice(0, 40)}"`, `${at}.name`);
  const parts = new Map((parameter.part ?? []).map((part) => [part.name, part]));
  const type = parts.get('type')?.valueCode;
  const path = parts.get('path')?.valueString;
  if (!type || !TYPES.has(type)) throw badRequest(`${at}: type must be add, insert, delete, replace or move`, `${at}.part`);
  if (!path) throw badRequest(`${at}: a ${type} operation needs a path`, `${at}.part`);
  const operation: Operation = { type: type as Operation['type'], path, at };
  const name = parts.get('name')?.valueString;
  if (name !== undefined) operation.name = name;
  const value = parts.get('value');
  if (value) Object.assign(operation, readValue(value, `${at}.part`));
  for (const key of ['index', 'source', 'destination'] as const) {
    const number = parts.get(key)?.valueInteger;
    if (number !== undefined) operation[key] = number;
  }
  const needs: Record<Operation['type'], (keyof Operation)[]> = { add: ['name', 'value'], insert: ['index', 'value'], delete: [], replace: ['value'], move: ['source', 'destination'] };
  for (const key of needs[operation.type]) {
    if (operation[key] === undefined) throw badRequest(`${at}: a ${type} operation needs ${key}`, `${at}.part`);
  }
  return operation;
}

/** `valueCoding: {...}` → the value and its type; nested parts → an object. */
function readValue(part: ParametersParameter, at: string): { value: unknown; valueType?: string } {
  const key = Object.keys(part).find((k) => k.startsWith('value') && k.length > 5);
  if (key) return { value: structuredClone((part as unknown as Json)[key]), valueType: key.slice(5) };
  if (part.resource) return { value: structuredClone(part.resource), valueType: 'Resource' };
  if (part.part && part.part.length > 0) {
    const object: Json = {};
    for (const child of part.part) {
      const { value } = readValue(child, at);
      const existing = object[child.name];
      object[child.name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    return { value: object };
  }
  throw badRequest('a FHIRPath Patch value needs value[x] or parts', at);
}

function locate(resource: Resource, operation: Operation): Located[] {
  let nodes: unknown[];
  try {
    nodes = fhirpath.evaluate(resource, operation.path, undefined, r4Model, { resolveInternalTypes: false }) as unknown[];
  } catch (error) {
    throw badRequest(`${operation.at}: the path "${operation.path.slice(0, 120)}" is not valid FHIRPath: ${(error as Error).message.slice(0, 200)}`, `${operation.at}.part`);
  }
  return nodes.map((node) => {
    const n = node as ResourceNodeLike;
    if (typeof n !== 'object' || n === null || !('parentResNode' in n)) throw unprocessable(`${operation.at}: the path "${operation.path}" does not select elements of the resource`);
    if (n.parentResNode === null || n.propName === null) return { parent: {}, key: '', index: null, value: n.data, path: n.path };
    const parent = n.parentResNode.data as Json;
    return { parent, key: jsonKey(parent, n.propName), index: n.index, value: n.data, path: n.parentResNode.path };
  });
}

/** `deceased` → `deceasedBoolean` when the element is a choice. */
function jsonKey(parent: Json, propName: string): string {
  if (propName in parent) return propName;
  return Object.keys(parent).find((key) => key.startsWith(propName) && /^[A-Z]/.test(key.slice(propName.length))) ?? propName;
}

function single(found: Located[], operation: Operation): Located {
  if (found.length !== 1) throw unprocessable(`${operation.at}: the path "${operation.path.slice(0, 120)}" must select exactly one element, it selects ${found.length}`);
  if (found[0].key === '') throw unprocessable(`${operation.at}: the path "${operation.path.slice(0, 120)}" selects the resource itself`);
  return found[0];
}

function applyOperation(resource: Resource, operation: Operation): void {
  const found = locate(resource, operation);
  switch (operation.type) {
    case 'add':
      return add(found, operation);
    case 'insert':
      return insert(listOf(found, operation), operation);
    case 'delete':
      if (found.length === 0) return; // deleting nothing is not an error
      return remove(single(found, operation));
    case 'replace':
      return replace(single(found, operation), operation);
    case 'move':
      return move(listOf(found, operation), operation);
  }
}

function add(found: Located[], operation: Operation): void {
  if (found.length !== 1) throw unprocessable(`${operation.at}: the path "${operation.path.slice(0, 120)}" must select exactly one element, it selects ${found.length}`);
  const target = found[0];
  const holder = target.value;
  if (typeof holder !== 'object' || holder === null || Array.isArray(holder)) throw unprocessable(`${operation.at}: add needs a path to an element that can hold ${operation.name}`);
  const elementPath = target.key === '' ? target.path : `${target.path ?? ''}.${target.key}`;
  const name = operation.name as string;
  const isChoice = elementPath !== null && choicePaths[`${elementPath}.${name}`] !== undefined;
  const key = isChoice && operation.valueType ? `${name}${operation.valueType.charAt(0).toUpperCase()}${operation.valueType.slice(1)}` : name;
  const object = holder as Json;
  const existing = object[key];
  const repeats = Array.isArray(existing) || (elementPath !== null && repeating[`${elementPath}.${name}`] === true) || (target.path !== null && repeating[`${target.path}.${name}`] === true);
  if (repeats) object[key] = [...(Array.isArray(existing) ? existing : []), operation.value];
  else if (existing !== undefined) throw unprocessable(`${operation.at}: ${name} already has a value; use replace`);
  else object[key] = operation.value;
}

function insert(target: Located, operation: Operation): void {
  const list = arrayOf(target, operation);
  const index = operation.index as number;
  if (index < 0 || index > list.length) throw unprocessable(`${operation.at}: index ${index} is outside the list (0..${list.length})`);
  list.splice(index, 0, operation.value);
}

function remove(target: Located): void {
  const current = target.parent[target.key];
  if (target.index !== null && Array.isArray(current)) {
    current.splice(target.index, 1);
    const extensions = target.parent[`_${target.key}`];
    if (Array.isArray(extensions)) extensions.splice(target.index, 1);
    if (current.length === 0) {
      delete target.parent[target.key];
      delete target.parent[`_${target.key}`];
    }
    return;
  }
  delete target.parent[target.key];
  delete target.parent[`_${target.key}`];
}

function replace(target: Located, operation: Operation): void {
  const current = target.parent[target.key];
  if (target.index !== null && Array.isArray(current)) {
    current[target.index] = operation.value;
    return;
  }
  const base = target.key.replace(/[A-Z][A-Za-z]*$/, '');
  const isChoice = base !== target.key && target.path !== null && choicePaths[`${target.path}.${base}`] !== undefined;
  if (isChoice && operation.valueType) {
    delete target.parent[target.key];
    target.parent[`${base}${operation.valueType.charAt(0).toUpperCase()}${operation.valueType.slice(1)}`] = operation.value;
    return;
  }
  target.parent[target.key] = operation.value;
}

function move(target: Located, operation: Operation): void {
  const list = arrayOf(target, operation);
  const { source, destination } = operation as Required<Pick<Operation, 'source' | 'destination'>>;
  if (source < 0 || source >= list.length || destination < 0 || destination >= list.length) {
    throw unprocessable(`${operation.at}: move ${source} → ${destination} is outside the list (0..${list.length - 1})`);
  }
  const [item] = list.splice(source, 1);
  list.splice(destination, 0, item);
}

/** insert and move name a list: `Patient.identifier` selects its items, all in one array. */
function listOf(found: Located[], operation: Operation): Located {
  const first = found[0];
  if (!first || found.some((item) => item.parent !== first.parent || item.key !== first.key || item.index === null)) {
    throw unprocessable(`${operation.at}: the path "${operation.path.slice(0, 120)}" must select one non-empty list`);
  }
  return first;
}

function arrayOf(target: Located, operation: Operation): unknown[] {
  const list = target.parent[target.key];
  if (!Array.isArray(list)) throw unprocessable(`${operation.at}: the path "${operation.path.slice(0, 120)}" does not select a list`);
  return list;
}
