/**
 * The request's purpose of use (CONTRACT §4.3 step 2): `X-Purpose-Of-Use`
 * TREAT (default), ETREAT or BTG; BTG needs a non-empty
 * `X-Break-Glass-Reason`. Anything else is 400, whoever calls. Only a
 * practitioner caller carries the mode; other callers are returned as they
 * are. Never grants anything by itself: the rules read the mode.
 */
import { badRequest } from '../kernel/errors';
import type { Caller } from '../kernel/caller';
import { PURPOSES_OF_USE, type PurposeOfUse } from './vocabulary';

type Headers = Record<string, string | string[] | undefined>;

function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Reads and checks the headers; throws 400 on a bad value or a BTG without reason. */
export function purposeOfUseFrom(headers: Headers): { purposeOfUse: PurposeOfUse; breakGlassReason?: string } {
  const raw = headerValue(headers, 'x-purpose-of-use');
  const value = raw === undefined ? 'TREAT' : raw.trim().toUpperCase();
  if (!(PURPOSES_OF_USE as readonly string[]).includes(value)) throw badRequest(`X-Purpose-Of-Use must be TREAT, ETREAT or BTG, got "${(raw ?? '').slice(0, 20)}"`, 'X-Purpose-Of-Use');
  const purposeOfUse = value as PurposeOfUse;
  if (purposeOfUse !== 'BTG') return { purposeOfUse };
  const reason = headerValue(headers, 'x-break-glass-reason')?.trim();
  if (!reason) throw badRequest('breakGlass: X-Purpose-Of-Use BTG needs a non-empty X-Break-Glass-Reason', 'X-Break-Glass-Reason');
  return { purposeOfUse, breakGlassReason: reason.slice(0, 1000) };
}

/** A practitioner in TREAT or ETREAT, by the caller identity resolved: the same object across their requests. */
const inMode = new WeakMap<Caller, Partial<Record<PurposeOfUse, Caller>>>();

/** The caller with the request's purpose of use (practitioners only); call right after authentication. */
export function applyPurposeOfUse(caller: Caller, headers: Headers): Caller {
  const mode = purposeOfUseFrom(headers);
  if (caller.kind !== 'practitioner') return caller;
  if (mode.breakGlassReason) return { ...caller, purposeOfUse: mode.purposeOfUse, breakGlassReason: mode.breakGlassReason };
  let modes = inMode.get(caller);
  if (!modes) inMode.set(caller, (modes = {}));
  return (modes[mode.purposeOfUse] ??= { ...caller, purposeOfUse: mode.purposeOfUse });
}
