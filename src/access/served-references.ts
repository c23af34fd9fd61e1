/**
 * References inside served resources (CONTRACT §4.3 step 7): in every
 * resource served, a Reference element naming a local resource the reader may
 * not see is removed from the served copy, as if that resource did not exist.
 *
 * - The Reference elements are found by walking each resource with the R4
 *   element model (kernel/element-model.ts): any element of type Reference,
 *   in backbone elements, data types (Identifier.assigner), extensions
 *   (valueReference), primitive extensions and contained resources alike.
 * - A local reference (relative, absolute on the FHIR base, versioned: one
 *   parser, kernel/reference.ts) to a type whose rows may be hidden from the
 *   reader stays only if it names a row the reader's access predicate lets
 *   through; a reference to a row that does not exist goes too, so the copy is
 *   the same whether the target is hidden or absent (no existence oracle).
 *   References to types the reader sees entirely (the directory, shared
 *   reference data), foreign URLs, contained (`#x`) and identifier-only
 *   references are kept.
 * - A removed Reference that its parent requires (List.entry.item 1..1,
 *   DocumentReference.relatesTo.target 1..1) takes the parent element with
 *   it, and so on upwards; an Extension left without value and extensions,
 *   and an element left without content, go too. The served resource itself
 *   always stays (a Provenance whose every target is removed is served
 *   without target). The copy carries no mark: a SUBSETTED tag would tell
 *   that the resource names something hidden.
 * - One set-based query per response, for every referenced row of every
 *   served resource, under the reader's predicate; none when no served
 *   resource references a type the reader may not see entirely.
 * Never changes a stored resource: pruning copies what it changes.
 */
import type { Resource } from 'fhir/r4';
import { baseElementModel, type ElementModel, type ElementNode, type TypeNode } from '../kernel/element-model';
import type { KnownReferences } from '../kernel/ports';
import type { RowPredicate } from '../kernel/predicate';
import { parseReference } from '../kernel/reference';
import type { Executor } from '../store/executor';

type JsonObject = Record<string, unknown>;

/** Whether a Reference element (its JSON object) stays in the served copy. */
type Keep = (reference: JsonObject) => boolean;

const REMOVED = Symbol('removed');
type Pruned = JsonObject | typeof REMOVED;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Copies of resources with the References that `keep` refuses removed; what loses nothing is returned as is. */
export class ReferencePruner {
  constructor(private readonly model: ElementModel = baseElementModel()) {}

  /** `resource` without the refused References (the same object when none is refused). */
  prune<T extends Resource>(resource: T, keep: Keep): T {
    const node = this.model.type(resource.resourceType);
    if (!node) return resource;
    const pruned = this.object(node, resource as unknown as JsonObject, keep);
    return (pruned === REMOVED ? resource : pruned) as unknown as T;
  }

  /** Every Reference element of `resource`, told to `found` (nothing is removed). */
  visit(resource: Resource, found: (reference: JsonObject) => void): void {
    this.prune(resource, (reference) => {
      found(reference);
      return true;
    });
  }

  private object(node: TypeNode, obj: JsonObject, keep: Keep): Pruned {
    let copy: JsonObject | undefined;
    for (const [key, value] of Object.entries(obj)) {
      if (value === null || typeof value !== 'object') continue;
      const primitive = key.startsWith('_');
      const element = primitive ? undefined : node.byKey.get(key);
      if (!primitive && !element) continue;
      const next = element ? this.member(element, key, value, keep) : this.primitiveExtensions(value, keep);
      if (next === value) continue;
      copy ??= { ...obj };
      if (next !== undefined) copy[key] = next;
      else {
        delete copy[key];
        if (element && element.min >= 1 && node.kind !== 'resource') return REMOVED; // its parent requires it
      }
    }
    if (!copy) return obj;
    return node.kind !== 'resource' && emptied(node, copy) ? REMOVED : copy;
  }

  /** An element's value (one item or an array): the same value, a pruned one, or undefined when nothing is left. */
  private member(element: ElementNode, key: string, value: object, keep: Keep): unknown {
    const code = element.keys.get(key) ?? '';
    const one = (item: unknown): unknown => (isObject(item) ? this.item(element, code, item, keep) : item);
    if (!Array.isArray(value)) {
      const next = one(value);
      return next === REMOVED ? undefined : next;
    }
    const items = value.map(one);
    if (items.every((item, i) => item === value[i])) return value;
    const left = items.filter((item) => item !== REMOVED);
    return left.length > 0 ? left : undefined;
  }

  private item(element: ElementNode, code: string, item: JsonObject, keep: Keep): Pruned {
    if (code === 'Reference' && !keep(item)) return REMOVED;
    const node = element.inline ?? (code === 'Resource' && typeof item.resourceType === 'string' ? this.model.type(item.resourceType) : this.model.type(code));
    if (!node || node.kind === 'primitive-type') return item;
    return this.object(node, item, keep);
  }

  /** `_given: [null, {extension: […]}]`: the extensions of primitive values. */
  private primitiveExtensions(value: object, keep: Keep): unknown {
    const element = this.model.type('Element') as TypeNode;
    const one = (item: unknown): unknown => {
      if (!isObject(item)) return item;
      const next = this.object(element, item, keep);
      return next === REMOVED ? null : next;
    };
    if (!Array.isArray(value)) {
      const next = one(value);
      return next === null ? undefined : next;
    }
    const items = value.map(one);
    if (items.every((item, i) => item === value[i])) return value;
    return items.some((item) => item !== null) ? items : undefined;
  }
}

/** ele-1 (an element with no content but its id) and ext-1 (an Extension with neither value nor extensions). */
function emptied(node: TypeNode, obj: JsonObject): boolean {
  const keys = Object.keys(obj).filter((key) => key !== 'id');
  if (keys.length === 0) return true;
  if (node.path !== 'Extension') return false;
  const value = node.elements.find((element) => element.name === 'value');
  const hasValue = value ? [...value.keys.keys()].some((key) => obj[key] !== undefined) : false;
  return !hasValue && obj.extension === undefined;
}

/** `Type/id` of a local target. */
const targetKey = (type: string, id: string) => `${type}/${id}`;

export interface ServedReferencesOptions {
  sql: Executor;
  /** The reader's access predicate over rows of the listed types (it tests resource_type itself). */
  readable: (types: readonly string[]) => RowPredicate;
  /** Whether some rows of `type` may be hidden from the reader (false: the reader sees every row of it). */
  hideable: (type: string) => boolean;
  pruner?: ReferencePruner;
}

/** The served copies of resources for one reader (CallerAccess.served). */
export class ServedReferences {
  private readonly pruner: ReferencePruner;

  constructor(private readonly options: ServedReferencesOptions) {
    this.pruner = options.pruner ?? new ReferencePruner();
  }

  /** `known`: targets whose answer the caller already has (asked with the same predicate), not asked again. */
  async served<T extends Resource>(resources: readonly T[], baseUrl: string, known: KnownReferences = new Map()): Promise<T[]> {
    const local = (reference: JsonObject) => {
      const parsed = typeof reference.reference === 'string' ? parseReference(reference.reference, baseUrl) : undefined;
      if (!parsed || parsed.url !== null || !parsed.targetType || !parsed.targetId || !this.options.hideable(parsed.targetType)) return undefined;
      return targetKey(parsed.targetType, parsed.targetId);
    };
    const targets = new Set<string>();
    for (const resource of resources) {
      this.pruner.visit(resource, (reference) => {
        const key = local(reference);
        if (key) targets.add(key);
      });
    }
    if (targets.size === 0) return [...resources];
    const visible = new Set<string>();
    const asked = new Set<string>();
    for (const target of targets) {
      const answer = known.get(target);
      if (answer === undefined) asked.add(target);
      else if (answer) visible.add(target);
    }
    if (asked.size > 0) for (const target of await this.visibleAmong(asked)) visible.add(target);
    if (visible.size === targets.size) return [...resources];
    return resources.map((resource) =>
      this.pruner.prune(resource, (reference) => {
        const key = local(reference);
        return key === undefined || visible.has(key);
      }),
    );
  }

  /** Which of the `Type/id` targets exist and pass the reader's predicate: one statement for all. */
  private async visibleAmong(targets: ReadonlySet<string>): Promise<Set<string>> {
    const types: string[] = [];
    const ids: string[] = [];
    for (const key of targets) {
      const slash = key.indexOf('/');
      types.push(key.slice(0, slash));
      ids.push(key.slice(slash + 1));
    }
    const predicate = this.options.readable([...new Set(types)].sort()).render('r');
    const { rows } = await this.options.sql.query<{ resource_type: string; id: string }>(
      `SELECT r.resource_type, r.id FROM resources r
        WHERE (r.resource_type, r.id) IN (SELECT * FROM unnest(?::text[], ?::text[])) AND (${predicate.sql})`,
      [types, ids, ...predicate.bindings],
    );
    return new Set(rows.map((row) => targetKey(row.resource_type, row.id)));
  }
}
