/**
 * The input parameters of a terminology operation, read the same way from
 * both forms of the FHIR spec (operations.html): the query string of a GET
 * and the `Parameters` body of a POST. Every parameter that is missing,
 * repeated or of the wrong type is a 400 whose `expression` names it; the
 * operations never see raw input. Also builds the `Parameters` they answer.
 */
import type { CodeableConcept, Coding, Parameters, ParametersParameter } from 'fhir/r4';
import { badRequest, type FhirError } from '../kernel/errors';
import type { FhirRequest } from '../kernel/request';

type Part = ParametersParameter & Record<string, unknown>;

/** One input as given: a query value (text) or a Parameters part. */
type Given = { name: string; text: string; index?: undefined } | { name: string; part: Part; index: number };

const STRING_TYPES = ['valueString', 'valueCode', 'valueUri', 'valueCanonical', 'valueUrl', 'valueId'];
const INTEGER_TYPES = ['valueInteger', 'valueUnsignedInt', 'valuePositiveInt'];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class OperationInputs {
  private constructor(private readonly given: Given[]) {}

  /** The inputs of a GET (query string) or POST (Parameters body, and the query string). */
  static of(request: FhirRequest): OperationInputs {
    const fromQuery: Given[] = request.query.filter(([name]) => !name.startsWith('_')).map(([name, text]) => ({ name, text }));
    if (request.method !== 'POST' || request.body === undefined) return new OperationInputs(fromQuery);
    const body = request.body;
    if (!isObject(body) || body.resourceType !== 'Parameters') throw badRequest('the body of a terminology operation must be a Parameters resource', 'Parameters');
    const parts = Array.isArray(body.parameter) ? body.parameter : [];
    const fromBody: Given[] = parts.map((part, index) => {
      if (!isObject(part) || typeof part.name !== 'string') throw badRequest('every parameter needs a name', `Parameters.parameter[${index}].name`);
      return { name: part.name, part: part as Part, index };
    });
    return new OperationInputs([...fromQuery, ...fromBody]);
  }

  /** Whether the parameter was given at all. */
  has(name: string): boolean {
    return this.given.some((item) => item.name === name);
  }

  /** A primitive parameter (code, uri, string…), at most once. */
  string(name: string): string | undefined {
    const item = this.single(name);
    if (!item) return undefined;
    const text = 'text' in item ? item.text : valueOf(item.part, STRING_TYPES);
    if (typeof text !== 'string' || text.trim() === '') throw invalid(name, item, 'a non-empty text value');
    return text;
  }

  /** A non-negative integer parameter (count, offset), at most once. */
  integer(name: string): number | undefined {
    const item = this.single(name);
    if (!item) return undefined;
    const value = 'text' in item ? (/^\d{1,9}$/.test(item.text) ? Number(item.text) : undefined) : valueOf(item.part, INTEGER_TYPES);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalid(name, item, 'a non-negative integer');
    return value;
  }

  /** A Coding parameter: `valueCoding` in a POST, `system|code` in a GET. */
  coding(name: string): Coding | undefined {
    const item = this.single(name);
    if (!item) return undefined;
    if ('text' in item) {
      const bar = item.text.lastIndexOf('|');
      if (bar <= 0 || bar === item.text.length - 1) throw invalid(name, item, 'system|code');
      return { system: item.text.slice(0, bar), code: item.text.slice(bar + 1) };
    }
    const coding = item.part.valueCoding;
    if (!isObject(coding) || typeof coding.code !== 'string' || coding.code === '') throw invalid(name, item, 'a valueCoding with a code');
    return coding as Coding;
  }

  /** A CodeableConcept parameter (POST only: a GET cannot carry one). */
  codeableConcept(name: string): CodeableConcept | undefined {
    const item = this.single(name);
    if (!item) return undefined;
    if ('text' in item) throw invalid(name, item, 'a valueCodeableConcept, in the Parameters body of a POST');
    const concept = item.part.valueCodeableConcept;
    if (!isObject(concept) || !Array.isArray(concept.coding) || concept.coding.length === 0) throw invalid(name, item, 'a valueCodeableConcept with at least one coding');
    return concept as CodeableConcept;
  }

  /** Every value of a repeatable primitive parameter (`property`). */
  strings(name: string): string[] {
    return this.given
      .filter((item) => item.name === name)
      .map((item) => {
        const text = 'text' in item ? item.text : valueOf(item.part, STRING_TYPES);
        if (typeof text !== 'string' || text === '') throw invalid(name, item, 'a code');
        return text;
      })
      .flatMap((text) => text.split(','));
  }

  /** The FHIRPath of a parameter for an error about it (its name in a GET, its part in a POST). */
  expression(name: string): string {
    const item = this.given.find((entry) => entry.name === name);
    return item ? expressionOf(name, item) : name;
  }

  private single(name: string): Given | undefined {
    const items = this.given.filter((item) => item.name === name);
    if (items.length > 1) throw badRequest(`the parameter ${name} may be given only once`, expressionOf(name, items[1]));
    return items[0];
  }
}

function valueOf(part: Part, types: string[]): unknown {
  const key = Object.keys(part).find((field) => field.startsWith('value'));
  return key !== undefined && types.includes(key) ? part[key] : undefined;
}

function expressionOf(name: string, item: Given): string {
  return item.index !== undefined ? `Parameters.parameter.where(name='${name}')` : name;
}

function invalid(name: string, item: Given, expected: string): FhirError {
  return badRequest(`the parameter ${name} must be ${expected}`, expressionOf(name, item));
}

/** A 400 for a parameter the operation needs and did not get. */
export function missing(name: string, why: string): FhirError {
  return badRequest(`the parameter ${name} is required: ${why}`, name);
}

/** The `Parameters` an operation answers. */
export function parameters(parts: ReadonlyArray<ParametersParameter | undefined>): Parameters {
  return { resourceType: 'Parameters', parameter: parts.filter((part): part is ParametersParameter => part !== undefined) };
}
