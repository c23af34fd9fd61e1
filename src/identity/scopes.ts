/**
 * SMART scopes: parses the `scope` claim of a verified token into `Scope[]`
 * and answers "do these scopes allow interaction I on type T?".
 *
 * Owns the scope grammar (SMART v1 `read`/`write`/`*`, v2 `cruds` letters),
 * and the one answer to "which types may this caller read at all?"
 * (`readableTypes`, `readsType`): what caps every interaction that names no
 * type (system history and search, `_type`, includes, `$everything`, Bundle
 * entries), applied in SQL by access/sql.ts.
 * Must never widen what a token grants: anything it does not understand
 * grants nothing, and a scope carries rights only in its own context
 * (`patient/` for patients and legal representatives, `user/` for
 * practitioners, `system/` for system clients).
 *
 * Decisions:
 * - Non-resource scopes (`openid`, `fhirUser`, `launch/patient`,
 *   `offline_access`, …) and malformed ones are ignored.
 * - A v2 scope with a `?query` restriction (`patient/Observation.rs?category=…`)
 *   parses without error but grants nothing: we do not yet enforce the
 *   restriction, and dropping it would grant more than the token says.
 */
import type { Caller, Interaction, Scope } from '../kernel/caller';

export type ScopeContext = Scope['context'];

/** Every interaction, in SMART v2 letter order. */
export const ALL_INTERACTIONS: readonly Interaction[] = ['c', 'r', 'u', 'd', 's'];

const V1_PERMISSIONS: Record<string, readonly Interaction[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ALL_INTERACTIONS,
};

/** context / type-or-* . permission [?query] */
const SCOPE_PATTERN = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{0,63})\.([a-z*]{1,5})(\?.*)?$/;
/** v2 letters: a non-empty subset of c r u d s, in that order. */
const V2_PERMISSION = /^(?=.)c?r?u?d?s?$/;

/** Parses one scope string; undefined when it is not a resource scope we understand. */
export function parseScope(text: string): Scope | undefined {
  const match = SCOPE_PATTERN.exec(text);
  if (!match) return undefined;
  const [, context, resourceType, permission, query] = match;
  const interactions = V1_PERMISSIONS[permission] ?? (V2_PERMISSION.test(permission) ? ([...permission] as Interaction[]) : undefined);
  if (!interactions) return undefined;
  if (query !== undefined) return { context: context as ScopeContext, resourceType, interactions: new Set() };
  return { context: context as ScopeContext, resourceType, interactions: new Set(interactions) };
}

/**
 * Parses the `scope` claim: a space-separated string (SMART), or, leniently,
 * an array of strings. Anything else yields no scopes.
 */
export function parseScopes(claim: unknown): Scope[] {
  const words = typeof claim === 'string' ? claim.split(/\s+/) : Array.isArray(claim) ? claim.filter((w): w is string => typeof w === 'string') : [];
  const scopes: Scope[] = [];
  for (const word of words) {
    const scope = word ? parseScope(word) : undefined;
    if (scope && scope.interactions.size > 0) scopes.push(scope);
  }
  return scopes;
}

/**
 * True when one of `scopes` allows `interaction` on `resourceType`. With a
 * `context`, only scopes of that context count; `undefined` accepts any
 * context (for callers that checked the context elsewhere).
 */
export function allows(scopes: readonly Scope[], context: ScopeContext | undefined, resourceType: string, interaction: Interaction): boolean {
  return scopes.some(
    (scope) =>
      (context === undefined || scope.context === context) &&
      (scope.resourceType === '*' || scope.resourceType === resourceType) &&
      scope.interactions.has(interaction),
  );
}

/** The scope context a caller's rights come from. */
export function scopeContextOf(caller: Pick<Caller, 'kind'>): ScopeContext {
  switch (caller.kind) {
    case 'patient':
    case 'related-person':
      return 'patient';
    case 'practitioner':
      return 'user';
    case 'system':
      return 'system';
  }
}

/** Scopes cap everything (§3): may this caller perform `interaction` on `resourceType` at all? */
export function callerAllows(caller: Pick<Caller, 'kind' | 'scopes'>, resourceType: string, interaction: Interaction): boolean {
  return allows(caller.scopes, scopeContextOf(caller), resourceType, interaction);
}

/** Every type (`'*'`), or the types named by the caller's read or search scopes (possibly none). */
export type ReadableTypes = '*' | readonly string[];

/**
 * The types the caller's scopes let it read or search — in its own context
 * only, so `system/*.*` on a practitioner or `user/*.*` on a patient reads
 * nothing. Reading (`r`) and searching (`s`) both disclose a resource, so
 * either one makes its type readable.
 */
export function readableTypes(caller: Pick<Caller, 'kind' | 'scopes'>): ReadableTypes {
  const context = scopeContextOf(caller);
  const types = new Set<string>();
  for (const scope of caller.scopes) {
    if (scope.context !== context || !(scope.interactions.has('r') || scope.interactions.has('s'))) continue;
    if (scope.resourceType === '*') return '*';
    types.add(scope.resourceType);
  }
  return [...types].sort();
}

/** Whether `resourceType` is among the caller's readable types. */
export function readsType(caller: Pick<Caller, 'kind' | 'scopes'>, resourceType: string): boolean {
  const types = readableTypes(caller);
  return types === '*' || types.includes(resourceType);
}

/**
 * An operator holds `system/*.*` or `system/*.cruds`: every interaction on
 * every type. `system/*.read system/*.write` together count the same.
 */
export function isOperator(scopes: readonly Scope[]): boolean {
  const held = new Set<Interaction>();
  for (const scope of scopes) if (scope.context === 'system' && scope.resourceType === '*') scope.interactions.forEach((i) => held.add(i));
  return ALL_INTERACTIONS.every((i) => held.has(i));
}

/** Whether any scope of `context` grants something (used to refuse system tokens without `system/` scopes). */
export function hasContext(scopes: readonly Scope[], context: ScopeContext): boolean {
  return scopes.some((scope) => scope.context === context && scope.interactions.size > 0);
}
