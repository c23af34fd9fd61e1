/**
 * What the activity history shows its reader: an AuditEvent names every
 * resource the request touched, but a document X may not see (labelled
 * INVISIBLE_PATIENT, or INVISIBLE_REPRESENTANTS_LEGAUX for a legal
 * representative — CONTRACT §4.2) must stay absent from everything X reads,
 * the history included. The stored events stay whole (the chain and
 * `$verify-audit` cover them); the copies served leave out the entities
 * naming a DocumentReference or Binary that exists and that the reader's
 * access predicate hides now — so a label removed later makes it appear.
 */
import type { AuditEvent } from 'fhir/r4';
import type { Session } from '../kernel/ports';

const HIDEABLE = new Set(['DocumentReference', 'Binary']);
const REFERENCE = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

export async function redactForReader(session: Session, events: AuditEvent[]): Promise<AuditEvent[]> {
  const wanted = new Map<string, Set<string>>();
  for (const event of events) {
    for (const entity of event.entity ?? []) {
      const match = REFERENCE.exec(entity.what?.reference ?? '');
      if (!match || !HIDEABLE.has(match[1])) continue;
      let ids = wanted.get(match[1]);
      if (!ids) wanted.set(match[1], (ids = new Set()));
      ids.add(match[2]);
    }
  }
  if (wanted.size === 0) return events;
  const hidden = new Set<string>();
  for (const [type, ids] of wanted) {
    for (const id of await session.store.hiddenAmong(type, [...ids], session.access.readable(type))) hidden.add(`${type}/${id}`);
  }
  if (hidden.size === 0) return events;
  return events.map((event) => {
    const entity = (event.entity ?? []).filter((e) => {
      const match = REFERENCE.exec(e.what?.reference ?? '');
      return !match || !hidden.has(`${match[1]}/${match[2]}`);
    });
    return entity.length === (event.entity ?? []).length ? event : { ...event, entity };
  });
}
