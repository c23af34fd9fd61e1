/**
 * The elements a profile stands for: its snapshot when it has one, else its
 * differential laid over the elements of its base when the base is another
 * known profile (recursively), element by element (same id: the derived
 * profile's properties win, constraints add up). A differential-only profile
 * on a profile thus carries its base's slicing, slice types and fixed values,
 * so that `List.extension:designationType 1..1` in a derived profile still
 * knows the url it slices on. Pure: never reads files, never looks at an
 * instance.
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';

export type KnownProfiles = ReadonlyMap<string, StructureDefinition>;

function merge(base: ElementDefinition, derived: ElementDefinition): ElementDefinition {
  const merged: ElementDefinition = { ...base, ...derived };
  if (base.constraint?.length && derived.constraint?.length) {
    const keys = new Set(derived.constraint.map((c) => c.key));
    merged.constraint = [...base.constraint.filter((c) => !keys.has(c.key)), ...derived.constraint];
  }
  return merged;
}

/** Snapshot, or differential over the known bases; `seen` guards against a base cycle. */
export function effectiveElements(sd: StructureDefinition, known: KnownProfiles, seen: Set<string> = new Set()): ElementDefinition[] {
  if (sd.snapshot?.element?.length) return sd.snapshot.element;
  const own = sd.differential?.element ?? [];
  const base = sd.baseDefinition ? known.get(sd.baseDefinition.split('|')[0]) : undefined;
  if (!base || seen.has(sd.url)) return own;
  seen.add(sd.url);
  const elements = [...effectiveElements(base, known, seen)];
  const at = new Map(elements.map((element, index) => [element.id ?? element.path, index]));
  for (const element of own) {
    const index = at.get(element.id ?? element.path);
    if (index === undefined) {
      at.set(element.id ?? element.path, elements.length);
      elements.push(element);
    } else elements[index] = merge(elements[index], element);
  }
  return elements;
}

/** The element of a (datatype or extension) profile at `Type.relative.path`, over its known bases. */
export function elementOf(sd: StructureDefinition | undefined, relative: string[], known: KnownProfiles): ElementDefinition | undefined {
  if (!sd) return undefined;
  const id = [sd.type, ...relative].join('.');
  return effectiveElements(sd, known).find((element) => (element.id ?? element.path) === id);
}
