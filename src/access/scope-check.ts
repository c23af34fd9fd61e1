/**
 * SMART scopes cap everything: a request outside the caller's scopes is 403.
 * Owns only that refusal; the rules inside the scopes live in policy.ts.
 */
import { forbidden } from '../kernel/errors';
import type { Caller, Interaction } from '../kernel/caller';
import { callerAllows } from '../identity/scopes';

const interactionNames: Record<Interaction, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

export function requireScope(caller: Caller, resourceType: string, interaction: Interaction): void {
  if (!callerAllows(caller, resourceType, interaction)) {
    throw forbidden(`the token's scopes do not allow ${interactionNames[interaction]} on ${resourceType}`);
  }
}
