/**
 * A cheap pre-test that spares most FHIRPath evaluations: a constraint whose
 * expression only navigates from the node through named elements gives, on a
 * node holding none of those elements, the same result as on an empty node.
 * When that result is "satisfied" (computed once at compile time), the
 * evaluation can be skipped. Expressions that look at the node itself or
 * elsewhere ($this, %resource, children(), descendants(), repeat(),
 * hasValue()) are never guarded. Owns this judgement only: never evaluates;
 * test/validation/invariant-guard.test.ts checks every guarded base
 * constraint against its unguarded evaluation on real resources.
 */

const UNGUARDABLE = /\$this|%(?!ucum\b)|\bchildren\s*\(|\bdescendants\s*\(|\brepeat\s*\(|\bhasValue\s*\(/;
const IDENTIFIER = /`([^`]+)`|\b([A-Za-z_][A-Za-z0-9_]*)\b/g;

/**
 * The names the expression could navigate to first from its node, or
 * undefined when it looks beyond its node's elements. Only path roots count
 * (`contained` in `contained.meta.versionId.empty()`): a name after a dot is
 * reached through its root, which is empty on a node without it. When a
 * function is called on the node itself (`ofType(Quantity).value`,
 * `exists()`), every name counts, as names after it navigate from the node.
 */
export function referencedNames(expression: string): Set<string> | undefined {
  const withoutStrings = expression.replace(/'(?:\\.|[^'\\])*'/g, "''");
  if (UNGUARDABLE.test(withoutStrings)) return undefined;
  const roots = new Set<string>();
  const all = new Set<string>();
  let calledOnNode = false;
  for (const match of withoutStrings.matchAll(IDENTIFIER)) {
    const name = match[1] ?? match[2];
    all.add(name);
    const before = withoutStrings.slice(0, match.index).trimEnd();
    if (before.endsWith('.')) continue;
    if (withoutStrings.slice(match.index + match[0].length).trimStart().startsWith('(')) calledOnNode = true;
    roots.add(name);
  }
  return calledOnNode ? all : roots;
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
