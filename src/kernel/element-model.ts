/**
 * The shape of every R4 resource and data type, read once from the HL7
 * StructureDefinition snapshots: for each complex node (a resource, a data
 * type, a BackboneElement) its elements by JSON key, their cardinalities,
 * types and FHIRPath constraints. contentReference (`#Questionnaire.item`)
 * shares the referenced node, so recursive structures are one object.
 * Owns the model only: never looks at an instance and never evaluates anything.
 * The base model is built once per process (`baseElementModel`), shared by
 * the validator and the walk over served references (access/served-references.ts).
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { baseStructureDefinitions } from './definitions';

export interface ConstraintDef {
  key: string;
  human: string;
  expression: string;
  /** Base path the expression is relative to: a type name (`Period`) or an element path (`Patient.contact`). */
  base: string;
}

export interface ElementNode {
  /** JSON name without `[x]`, e.g. `value` for `Observation.value[x]`. */
  name: string;
  /** Definition path, e.g. `Patient.contact.name`. */
  path: string;
  min: number;
  max: number; // Infinity for '*'
  isArray: boolean;
  choice: boolean;
  /** JSON key → FHIR type code, e.g. `valueQuantity` → `Quantity`; `gender` → `code`. */
  keys: Map<string, string>;
  /** Constraints declared on this element (ele-1/ext-1 excluded: checked natively). */
  constraints: ConstraintDef[];
  /** Inline children for BackboneElement/Element typed elements (or the contentReference target). */
  inline?: TypeNode;
}

export interface TypeNode {
  /** `Patient`, `Period`, `Patient.contact`, `Questionnaire.item`. */
  path: string;
  kind: 'resource' | 'complex-type' | 'primitive-type' | 'backbone';
  /** JSON key (without `_`) → element. */
  byKey: Map<string, ElementNode>;
  elements: ElementNode[];
  /** Elements with min ≥ 1. */
  required: ElementNode[];
  /** Constraints on the node itself (type root constraints: per-1, dom-3...). */
  constraints: ConstraintDef[];
}

/** Constraints that the structure walk checks natively, so they are never compiled. */
export const NATIVE_CONSTRAINTS = new Set(['ele-1', 'ext-1']);

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

export class ElementModel {
  private readonly types = new Map<string, TypeNode>();
  private readonly primitives = new Set<string>();
  private readonly resources = new Set<string>();
  private readonly byUrl = new Map<string, StructureDefinition>();

  constructor(definitions: StructureDefinition[] = baseStructureDefinitions()) {
    for (const sd of definitions) {
      if (sd.url) this.byUrl.set(sd.url, sd);
      if (sd.derivation !== 'specialization' && sd.derivation !== undefined) continue;
      if (sd.kind === 'logical') continue;
      if (sd.kind === 'primitive-type') this.primitives.add(sd.type);
      if (sd.kind === 'resource' && !sd.abstract) this.resources.add(sd.type);
      this.buildDefinition(sd);
    }
  }

  /** The node of a resource type or complex data type (`Patient`, `Period`), or of a backbone path. */
  type(name: string): TypeNode | undefined {
    return this.types.get(name);
  }

  isPrimitive(type: string): boolean {
    return this.primitives.has(type);
  }

  isResourceType(type: string): boolean {
    return this.resources.has(type);
  }

  resourceTypes(): string[] {
    return [...this.resources];
  }

  /** A base StructureDefinition by canonical URL (constraint profiles such as SimpleQuantity included). */
  definition(url: string): StructureDefinition | undefined {
    return this.byUrl.get(url);
  }

  /** Every constraint of the model, for compiling them all at start. */
  allConstraints(): ConstraintDef[] {
    const seen = new Set<TypeNode>();
    const out: ConstraintDef[] = [];
    const visit = (node: TypeNode) => {
      if (seen.has(node)) return;
      seen.add(node);
      out.push(...node.constraints);
      for (const element of node.elements) {
        out.push(...element.constraints);
        if (element.inline) visit(element.inline);
      }
    };
    for (const node of this.types.values()) visit(node);
    return out;
  }

  private buildDefinition(sd: StructureDefinition): void {
    const elements = sd.snapshot?.element ?? [];
    if (elements.length === 0) return;
    const kind = sd.kind === 'resource' ? 'resource' : sd.kind === 'primitive-type' ? 'primitive-type' : 'complex-type';
    const rootPath = elements[0].path;
    const nodes = new Map<string, TypeNode>();
    const newNode = (path: string, nodeKind: TypeNode['kind']): TypeNode => {
      const node: TypeNode = { path, kind: nodeKind, byKey: new Map(), elements: [], required: [], constraints: [] };
      nodes.set(path, node);
      return node;
    };
    const root = newNode(rootPath, kind);
    root.constraints = rootConstraints(elements[0], rootPath, sd);
    const pendingReferences: Array<[ElementNode, string]> = [];
    for (const definition of elements.slice(1)) {
      const parentPath = definition.path.slice(0, definition.path.lastIndexOf('.'));
      const parent = nodes.get(parentPath);
      if (!parent || definition.sliceName) continue;
      const element = toElementNode(definition);
      parent.elements.push(element);
      for (const key of element.keys.keys()) parent.byKey.set(key, element);
      if (element.min >= 1) parent.required.push(element);
      const code = element.keys.values().next().value;
      if (definition.contentReference) {
        pendingReferences.push([element, definition.contentReference.replace(/^#/, '')]);
      } else if (code === 'BackboneElement' || code === 'Element') {
        element.inline = newNode(definition.path, 'backbone');
      }
    }
    for (const [element, target] of pendingReferences) element.inline = nodes.get(target);
    this.types.set(sd.type, root);
    for (const [path, node] of nodes) if (path !== rootPath) this.types.set(path, node);
  }
}

let baseModel: ElementModel | undefined;

/** The model of the base R4 definitions, built on first use and shared by the process. */
export function baseElementModel(): ElementModel {
  baseModel ??= new ElementModel();
  return baseModel;
}

function rootConstraints(root: ElementDefinition, base: string, sd: StructureDefinition): ConstraintDef[] {
  return (root.constraint ?? [])
    .filter((c) => c.severity === 'error' && c.expression && !NATIVE_CONSTRAINTS.has(c.key))
    .map((c) => ({ key: c.key, human: c.human, expression: c.expression as string, base: sd.kind === 'resource' ? sd.type : base }));
}

function typeCode(type: NonNullable<ElementDefinition['type']>[number]): string {
  if (type.code.startsWith('http://hl7.org/fhirpath/System.')) {
    const fhirType = type.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION);
    return fhirType?.valueUrl ?? fhirType?.valueUri ?? 'string';
  }
  return type.code;
}

function toElementNode(definition: ElementDefinition): ElementNode {
  const last = definition.path.slice(definition.path.lastIndexOf('.') + 1);
  const choice = last.endsWith('[x]');
  const name = choice ? last.slice(0, -3) : last;
  const keys = new Map<string, string>();
  for (const type of definition.type ?? []) {
    const code = typeCode(type);
    keys.set(choice ? name + code[0].toUpperCase() + code.slice(1) : name, code);
  }
  if (keys.size === 0) keys.set(name, 'BackboneElement'); // contentReference elements carry no type
  const max = definition.max === '*' || definition.max === undefined ? Infinity : Number(definition.max);
  const baseMax = definition.base?.max ?? definition.max;
  return {
    name,
    path: definition.path,
    min: definition.min ?? 0,
    max,
    isArray: baseMax !== '1' && baseMax !== '0',
    choice,
    keys,
    constraints: (definition.constraint ?? [])
      .filter((c) => c.severity === 'error' && c.expression && !NATIVE_CONSTRAINTS.has(c.key))
      .map((c) => ({ key: c.key, human: c.human, expression: c.expression as string, base: definition.path })),
    inline: undefined,
  };
}
