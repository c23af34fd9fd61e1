/**
 * Hiding (§4.2): everything at once (hide-all), or one document from every professional or from
 * chosen ones (hide-document, with or without actors); unhiding withdraws the choices naming
 * the document. The professionals offered are those the space knows: authorized, blocked, the
 * administrator and whoever has accessed it.
 */
import { useState } from 'preact/hooks';
import type { AuditEvent, DocumentReference } from 'fhir/r4';
import { searchAll } from '../api';
import { actorsOf, create, directory, nameOf, withdraw } from '../choices';
import { t } from '../i18n';
import { act, Badges, Loading, useLoad } from '../feedback';
import { badgesOf, hideAllOf, hidingsOf, loadSpace, titleOf } from '../space';
import type { ScreenProps } from '../main';

async function load(patientId: string) {
  const [space, history] = await Promise.all([loadSpace(patientId), searchAll<AuditEvent>(`AuditEvent?patient=Patient/${patientId}&outcome=0&_count=200`, 2)]);
  const accessed = history.resources.flatMap((event) => (event.agent ?? []).map((agent) => agent.who?.reference ?? ''));
  const references = [...new Set([...space.choices.flatMap(actorsOf), ...accessed].filter((reference) => reference.startsWith('Practitioner/')))];
  return { ...space, people: await directory(references) };
}

export function Hiding({ session, say }: ScreenProps) {
  const space = useLoad(() => load(session.patient), say);
  const hideAll = hideAllOf(space.data?.choices ?? []);
  return (
    <section>
      <h1 tabIndex={-1}>{t('hiding.title')}</h1>
      {!space.data && <Loading />}
      <section class="card" aria-labelledby="hide-all-title">
        <h2 id="hide-all-title">{t('hiding.allTitle')}</h2>
        <p>{t('hiding.allIntro')}</p>
        {space.data && (
          <label class="check">
            <input
              type="checkbox"
              checked={hideAll.length > 0}
              onChange={(event) => {
                const on = (event.currentTarget as HTMLInputElement).checked;
                void act(
                  say,
                  () => (on ? create(session.patient, session.fhirUser, { kind: 'hide-all', effect: 'deny' }) : Promise.all(hideAll.map(withdraw))),
                  t(on ? 'hiding.allOn' : 'hiding.allOff'),
                  space.reload,
                );
              }}
            />
            {t('hiding.all')}
          </label>
        )}
      </section>
      <section class="card" aria-labelledby="hide-docs-title">
        <h2 id="hide-docs-title">{t('hiding.docsTitle')}</h2>
        <p>{t('hiding.docsIntro')}</p>
        {space.data && space.data.documents.length === 0 && <p>{t('documents.none')}</p>}
        <ul class="documents">
          {space.data?.documents.map((document) => (
            <DocumentHiding key={document.id} document={document} data={space.data as Awaited<ReturnType<typeof load>>} session={session} say={say} reload={space.reload} />
          ))}
        </ul>
      </section>
    </section>
  );
}

function DocumentHiding({ document, data, session, say, reload }: ScreenProps & { document: DocumentReference; data: Awaited<ReturnType<typeof load>>; reload: () => Promise<void> }) {
  const [mode, setMode] = useState<'everyone' | 'some'>('everyone');
  const title = titleOf(document);
  const hidings = hidingsOf(data.choices, document.id);
  const hiddenFromEveryone = hidings.some((consent) => actorsOf(consent).length === 0); // nothing more to hide
  const badges = badgesOf(document, data.choices);
  const people = [...data.people.keys()];
  const id = `hide-${document.id}`;
  return (
    <li class="document-hiding" data-id={document.id}>
      <h3 id={`${id}-title`}>{title}</h3>
      {badges.length > 0 && <Badges badges={badges} />}
      {hidings.length > 0 && (
        <button type="button" class="secondary" aria-label={t('hiding.unhideLabel', { name: title })} onClick={() => void act(say, () => Promise.all(hidings.map(withdraw)), t('hiding.unhidden', { name: title }), reload)}>
          {t('hiding.unhide')}
        </button>
      )}
      {!hiddenFromEveryone && (
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const actors = mode === 'some' ? (form.getAll('actor') as string[]) : [];
          if (mode === 'some' && actors.length === 0) return say(t('hiding.pickOne'), true);
          void act(say, () => create(session.patient, session.fhirUser, { kind: 'hide-document', effect: 'deny', documents: [document.id as string], actors }), t('hiding.hidden', { name: title }), reload);
        }}
      >
        <fieldset>
          <legend>{t('hiding.from', { name: title })}</legend>
          <label class="check">
            <input type="radio" name="mode" value="everyone" checked={mode === 'everyone'} onChange={() => setMode('everyone')} />
            {t('hiding.everyone')}
          </label>
          <label class="check">
            <input type="radio" name="mode" value="some" checked={mode === 'some'} onChange={() => setMode('some')} disabled={people.length === 0} />
            {t('hiding.some')}
          </label>
          {people.length === 0 && <p class="muted">{t('hiding.noPros')}</p>}
          {mode === 'some' && (
            <fieldset class="nested">
              <legend>{t('hiding.chooseWho')}</legend>
              {people.map((reference) => (
                <label class="check" key={reference}>
                  <input type="checkbox" name="actor" value={reference} />
                  {nameOf(data.people.get(reference)?.practitioner, reference)}
                </label>
              ))}
            </fieldset>
          )}
        </fieldset>
        <button type="submit" aria-label={t('hiding.hideLabel', { name: title })}>
          {t('hiding.hide')}
        </button>
      </form>
      )}
    </li>
  );
}
