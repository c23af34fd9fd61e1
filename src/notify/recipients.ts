/**
 * Who a notification goes to and how to name who acted, read at send time
 * from the `resources` table: Patient X's `email` telecom and preferred
 * language, and the names of the practitioners and representatives who acted.
 * Read-only; never returns anything but an address, a language and names.
 */
import type { ContactPoint, HumanName, Patient } from 'fhir/r4';
import type { Executor } from '../store/executor';

export type Language = 'fr' | 'en';

export interface Recipient {
  email: string;
  language: Language;
}

const EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

function inForce(point: ContactPoint, now: Date): boolean {
  const end = point.period?.end;
  return !end || Date.parse(end) >= now.getTime();
}

function emailOf(patient: Patient, now: Date): string | undefined {
  const emails = (patient.telecom ?? []).filter((point) => point.system === 'email' && point.value && EMAIL.test(point.value.trim()) && inForce(point, now));
  emails.sort((a, b) => (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER));
  return emails[0]?.value?.trim();
}

function languageOf(patient: Patient): Language {
  const communications = patient.communication ?? [];
  const preferred = communications.find((c) => c.preferred) ?? communications[0];
  const code = preferred?.language.coding?.find((coding) => coding.code)?.code ?? preferred?.language.text ?? 'fr';
  return /^en\b/i.test(code) ? 'en' : 'fr';
}

export async function recipientOf(db: Executor, patientId: string, now = new Date()): Promise<Recipient | undefined> {
  const result = await db.query<{ content: Patient }>(
    `SELECT content FROM resources WHERE resource_type = 'Patient' AND id = ? AND NOT deleted`,
    [patientId],
  );
  const patient = result.rows[0]?.content;
  if (!patient) return undefined;
  const email = emailOf(patient, now);
  return email ? { email, language: languageOf(patient) } : undefined;
}

export function displayName(name: HumanName | undefined): string | undefined {
  if (!name) return undefined;
  if (name.text?.trim()) return name.text.trim();
  const parts = [...(name.prefix ?? []), ...(name.given ?? []), name.family ?? ''].map((part) => part.trim()).filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** `Practitioner/P` and `RelatedPerson/R` agents → their usual (or first) name. */
export async function agentNames(db: Executor, agents: string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(agents)].map((agent) => /^(Practitioner|RelatedPerson)\/([A-Za-z0-9\-.]{1,64})$/.exec(agent)).filter((m): m is RegExpExecArray => m !== null);
  const names = new Map<string, string>();
  if (wanted.length === 0) return names;
  const result = await db.query<{ resource_type: string; id: string; name: HumanName[] | null }>(
    `SELECT resource_type, id, content->'name' AS name FROM resources
     WHERE NOT deleted AND (resource_type, id) IN (SELECT * FROM unnest(?::text[], ?::text[]))`,
    [wanted.map((m) => m[1]), wanted.map((m) => m[2])],
  );
  for (const row of result.rows) {
    const list = row.name ?? [];
    const name = displayName(list.find((n) => n.use === 'usual' || n.use === 'official') ?? list[0]);
    if (name) names.set(`${row.resource_type}/${row.id}`, name);
  }
  return names;
}
