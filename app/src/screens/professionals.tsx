/**
 * The professionals (§4.2): who is authorized and who is blocked (authorize and block choices),
 * the directory searched by name or RPPS (Practitioner?name= / identifier=, with their roles),
 * authorize, withdraw, block and unblock; and the administrator, chosen among the professionals
 * who have accessed the space (the successful events of its history).
 */
import { useState } from 'preact/hooks';
import type { AuditEvent, Consent, Practitioner, PractitionerRole } from 'fhir/r4';
import { searchAll } from '../api';
import { actorsOf, activeChoices, create, directory, kindOf, nameOf, professionsOf, rppsOf, withdraw, RPPS_SYSTEM } from '../choices';
import { t } from '../i18n';
import { act, failure, Loading, useLoad } from '../feedback';
import type { ScreenProps } from '../main';

type Directory = Awaited<ReturnType<typeof directory>>;

async function load(patientId: string) {
  const choices = await activeChoices(patientId);
  const references = choices.flatMap(actorsOf);
  return { choices, people: await directory(references) };
}

export function Professionals({ session, say }: ScreenProps) {
  const space = useLoad(() => load(session.patient), say);
  const [results, setResults] = useState<Directory | null>(null);
  const choices = space.data?.choices ?? [];
  const people = space.data?.people ?? new Map();
  const of = (kind: string) => choices.filter((consent) => kindOf(consent) === kind);
  const authorizations = of('authorize');
  const blocks = of('block');
  const label = (reference: string, found: Directory = people) => nameOf(found.get(reference)?.practitioner, reference);
  const make = (kind: 'authorize' | 'block', reference: string, name: string) =>
    act(say, () => create(session.patient, session.fhirUser, { kind, effect: kind === 'authorize' ? 'permit' : 'deny', actors: [reference] }), t(kind === 'authorize' ? 'pros.authorizedDone' : 'pros.blockedDone', { name }), space.reload);
  const undo = (consent: Consent, done: string) => act(say, () => withdraw(consent), done, space.reload);

  const search = async (query: string) => {
    const value = query.trim();
    if (!value) return;
    const digits = value.replace(/\s+/g, '');
    // The national id is 8 followed by the 11-digit RPPS number.
    const url = /^\d{11,12}$/.test(digits)
      ? `Practitioner?identifier=${encodeURIComponent(`${RPPS_SYSTEM}|${digits.length === 11 ? `8${digits}` : digits}`)}&_revinclude=PractitionerRole:practitioner&_count=20`
      : `Practitioner?name=${encodeURIComponent(value)}&_revinclude=PractitionerRole:practitioner&_count=20`;
    try {
      const { resources, included } = await searchAll<Practitioner>(url, 1);
      const found: Directory = new Map();
      for (const practitioner of resources) found.set(`Practitioner/${practitioner.id}`, { practitioner, roles: [] });
      for (const role of included as PractitionerRole[]) if (role.resourceType === 'PractitionerRole') found.get(role.practitioner?.reference ?? '')?.roles.push(role);
      setResults(found);
      say(found.size === 0 ? t('pros.noResult') : `${t('pros.results')} : ${found.size}`);
    } catch (error) {
      say(failure(error), true);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('pros.title')}</h1>
      {!space.data && <Loading />}
      <section class="card" aria-labelledby="authorized-title">
        <h2 id="authorized-title">{t('pros.authorized')}</h2>
        <p>{t('pros.authorizedIntro')}</p>
        {space.data && authorizations.length === 0 && <p>{t('pros.noneAuthorized')}</p>}
        <ul class="people">
          {authorizations.flatMap((consent) =>
            actorsOf(consent).map((reference) => {
              const name = label(reference);
              return (
                <li key={`${consent.id}-${reference}`} data-ref={reference}>
                  <Person reference={reference} found={people} />
                  <button type="button" class="secondary" aria-label={t('pros.withdrawLabel', { name })} onClick={() => void undo(consent, t('pros.withdrawnDone', { name }))}>
                    {t('pros.withdraw')}
                  </button>
                </li>
              );
            }),
          )}
        </ul>
      </section>
      <section class="card" aria-labelledby="blocked-title">
        <h2 id="blocked-title">{t('pros.blocked')}</h2>
        <p>{t('pros.blockedIntro')}</p>
        {space.data && blocks.length === 0 && <p>{t('pros.noneBlocked')}</p>}
        <ul class="people">
          {blocks.flatMap((consent) =>
            actorsOf(consent).map((reference) => {
              const name = label(reference);
              return (
                <li key={`${consent.id}-${reference}`} data-ref={reference}>
                  <Person reference={reference} found={people} />
                  <button type="button" class="secondary" aria-label={t('pros.unblockLabel', { name })} onClick={() => void undo(consent, t('pros.unblockedDone', { name }))}>
                    {t('pros.unblock')}
                  </button>
                </li>
              );
            }),
          )}
        </ul>
      </section>
      <section class="card" aria-labelledby="search-title">
        <h2 id="search-title">{t('pros.search')}</h2>
        <form
          class="row"
          role="search"
          onSubmit={(event) => {
            event.preventDefault();
            void search(String(new FormData(event.currentTarget).get('query') ?? ''));
          }}
        >
          <div class="field grow">
            <label for="pro-query">{t('pros.query')}</label>
            <input id="pro-query" name="query" type="search" required />
          </div>
          <button type="submit">{t('pros.find')}</button>
        </form>
        {results && (
          <>
            <h3>{t('pros.results')}</h3>
            {results.size === 0 && <p>{t('pros.noResult')}</p>}
            <ul class="people">
              {[...results.keys()].map((reference) => {
                const name = label(reference, results);
                const authorized = authorizations.some((consent) => actorsOf(consent).includes(reference));
                const blocked = blocks.some((consent) => actorsOf(consent).includes(reference));
                return (
                  <li key={reference} data-ref={reference}>
                    <Person reference={reference} found={results} />
                    <div class="row">
                      {authorized ? (
                        <span class="badge">{t('pros.alreadyAuthorized')}</span>
                      ) : (
                        <button type="button" aria-label={t('pros.authorizeLabel', { name })} onClick={() => void make('authorize', reference, name)}>
                          {t('pros.authorize')}
                        </button>
                      )}
                      {blocked ? (
                        <span class="badge">{t('pros.alreadyBlocked')}</span>
                      ) : (
                        <button type="button" class="danger" aria-label={t('pros.blockLabel', { name })} onClick={() => void make('block', reference, name)}>
                          {t('pros.block')}
                        </button>
                      )}
                    </div>
                  </li>
                );
              })}
            </ul>
          </>
        )}
      </section>
      {/* remounted after each change: a professional who accessed the space since is offered */}
      <Administrator key={choices.map((consent) => consent.id).join()} session={session} say={say} choices={of('administrator')} people={people} reload={space.reload} />
    </section>
  );
}

function Person({ reference, found }: { reference: string; found: Directory }) {
  const entry = found.get(reference);
  const rpps = rppsOf(entry?.practitioner);
  const professions = professionsOf(entry?.roles ?? []);
  return (
    <span class="person">
      <strong>{nameOf(entry?.practitioner, reference)}</strong>
      {professions.length > 0 && <span> — {professions.join(', ')}</span>}
      {rpps && <span class="muted"> ({t('pros.rpps', { rpps: rpps.replace(/^8(?=\d{11}$)/, '') })})</span>}
    </span>
  );
}

/** The practitioners with a successful event (outcome 0) in the space's history: those who have accessed it. */
async function accessedBy(patientId: string): Promise<string[]> {
  const { resources } = await searchAll<AuditEvent>(`AuditEvent?patient=Patient/${patientId}&outcome=0&_count=200`, 5);
  const who = resources.flatMap((event) => (event.agent ?? []).filter((agent) => agent.requestor).map((agent) => agent.who?.reference ?? ''));
  return [...new Set(who.filter((reference) => reference.startsWith('Practitioner/')))];
}

function Administrator({ session, say, choices, people, reload }: ScreenProps & { choices: Consent[]; people: Directory; reload: () => Promise<void> }) {
  const candidates = useLoad(async () => {
    const references = await accessedBy(session.patient);
    return { references, found: await directory(references) };
  }, say);
  const current = choices[0];
  const currentRef = current ? actorsOf(current)[0] : undefined;
  const name = (reference: string) => nameOf(candidates.data?.found.get(reference)?.practitioner ?? people.get(reference)?.practitioner, reference);
  return (
    <section class="card" aria-labelledby="admin-title">
      <h2 id="admin-title">{t('admin.title')}</h2>
      <p>{t('admin.intro')}</p>
      <p>{currentRef ? t('admin.current', { name: name(currentRef) }) : t('admin.none')}</p>
      {current && (
        <button type="button" class="secondary" onClick={() => void act(say, () => Promise.all(choices.map(withdraw)), t('admin.removed'), reload)}>
          {t('admin.remove')}
        </button>
      )}
      {!candidates.data && <Loading />}
      {candidates.data && candidates.data.references.length === 0 && <p>{t('admin.nobody')}</p>}
      {candidates.data && candidates.data.references.length > 0 && (
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            const reference = String(new FormData(event.currentTarget).get('administrator') ?? '');
            if (!reference) return;
            void act(
              say,
              async () => {
                await create(session.patient, session.fhirUser, { kind: 'administrator', effect: 'permit', actors: [reference] });
                await Promise.all(choices.map(withdraw)); // one administrator at a time
              },
              t('admin.named', { name: name(reference) }),
              reload,
            );
          }}
        >
          <div class="field grow">
            <label for="administrator">{t('admin.choose')}</label>
            <select id="administrator" name="administrator">
              {candidates.data.references.map((reference) => (
                <option key={reference} value={reference}>
                  {name(reference)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit">{t('admin.name')}</button>
        </form>
      )}
    </section>
  );
}
