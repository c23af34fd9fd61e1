/**
 * A cheap pre-test that spares most FHIRPath evaluations: a constraint whose
 * expression only navigates from the node through named elements gives, on a
 * node holding none of those elements, the same result as on an empty node.
 * When that result is "satisfied" (computed once at compile time), the
 * evaluation can be skipped. Expressions that look at the node itself or
 * elsewhere ($this, %resource, children(), descendants(), repeat(),
 * hasValue()) are never guarded. Owns this judgement only: never evaluates.
 */

const UNGUARDABLE = /\$this|%(?!ucum\b)|\bchildren\s*\(|\bdescendants\s*\(|\brepeat\s*\(|\bhasValue\s*\(/;
const IDENTIFIER = /`([^`]+)`|\b([A-Za-z_][A-Za-z0-9_]*)\b/g;

/** Every name the expression could navigate to, or undefined when it looks beyond its node's elements. */
export function referencedNames(expression: string): Set<string> | undefined {
  const withoutStrings = expression.replace(/'(?:\\.|[^'\\])*'/g, "''");
  if (UNGUARDABLE.test(withoutStrings)) return undefined;
  const names = new Set<string>();
  for (const match of withoutStrings.matchAll(IDENTIFIER)) names.add(match[1] ?? match[2]);
  return names;
}

/** True when one of the node's elements (`value` for `valueQuantity`, `given` for `_given`) is among `names`. */
export function mentionsAnyElement(node: Record<string, unknown>, names: Set<string>): boolean {
  for (const raw of Object.keys(node)) {
    const key = raw.startsWith('_') ? raw.slice(1) : raw;
    if (names.has(key)) return true;
    for (let end = 1; end < key.length; end++) {
      const char = key.charCodeAt(end);
      if (char >= 65 && char <= 90 && names.has(key.slice(0, end))) return true; // choice: value|Quantity
    }
  }
  return false;
}
