/**
 * The documents of the space: type, date, author, "hidden" badges (TRE_A07 MASQUE_PS, hide-document
 * and hide-all choices), filtered by type and date through the search itself, and each
 * document's file opened from its Binary's raw bytes (ITI-68) as a blob: URL. Beside each
 * document, who can see it and why (`$access`, §10), asked when its panel is opened.
 */
import { useState } from 'preact/hooks';
import type { DocumentReference, Parameters, ParametersParameter } from 'fhir/r4';
import { binaryBlob, fhirGet } from '../api';
import { currentLang, formatDate, professionLabel, t } from '../i18n';
import { Badges, failure, Loading, useLoad } from '../feedback';
import { authorOf, badgesOf, dateOf, hideAllOf, loadSpace, titleOf, typeKeyOf, typeLabelOf, type DocumentFilter } from '../space';
import type { ScreenProps } from '../main';

export function Documents({ session, say }: ScreenProps) {
  const all = useLoad(() => loadSpace(session.patient), say); // the types of the filter come from the whole list
  const [shown, setShown] = useState<Awaited<ReturnType<typeof loadSpace>> | null>(null);
  const [files, setFiles] = useState<Record<string, string>>({});
  const space = shown ?? all.data;

  const types = new Map<string, string>();
  for (const document of all.data?.documents ?? []) {
    const key = typeKeyOf(document);
    if (key) types.set(key, typeLabelOf(document));
  }

  const apply = async (next: DocumentFilter) => {
    try {
      const loaded = await loadSpace(session.patient, next);
      setShown(loaded);
      say(t('documents.count', { count: loaded.documents.length }));
    } catch (error) {
      say(failure(error), true);
    }
  };

  const open = async (document: DocumentReference) => {
    const attachment = document.content?.[0]?.attachment;
    if (!attachment?.url || !document.id) return;
    try {
      const blob = await binaryBlob(attachment.url, attachment.contentType ?? '*/*');
      const url = URL.createObjectURL(blob);
      setFiles((previous) => ({ ...previous, [document.id as string]: url }));
      window.open(url, '_blank', 'noopener');
      say(t('documents.opened'));
    } catch (error) {
      say(failure(error), true);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('documents.title')}</h1>
      <form
        class="filters card"
        aria-label={t('documents.filters')}
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          void apply({ type: String(form.get('type') ?? '') || undefined, from: String(form.get('from') ?? '') || undefined, to: String(form.get('to') ?? '') || undefined });
        }}
      >
        <div class="field">
          <label for="filter-type">{t('documents.type')}</label>
          <select id="filter-type" name="type">
            <option value="">{t('documents.allTypes')}</option>
            {[...types].map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-from">{t('documents.from')}</label>
          <input id="filter-from" name="from" type="date" />
        </div>
        <div class="field">
          <label for="filter-to">{t('documents.to')}</label>
          <input id="filter-to" name="to" type="date" />
        </div>
        <div class="row">
          <button type="submit">{t('documents.apply')}</button>
          <button
            type="button"
            class="secondary"
            onClick={(event) => {
              (event.currentTarget as HTMLButtonElement).form?.reset();
              void apply({});
            }}
          >
            {t('documents.reset')}
          </button>
        </div>
      </form>
      {!space && <Loading />}
      {space && hideAllOf(space.choices).length > 0 && <p class="notice">{t('documents.hideAllOn')}</p>}
      {space && space.documents.length === 0 && <p>{t('documents.none')}</p>}
      {space && space.documents.length > 0 && (
        <ul class="documents">
          {space.documents.map((document) => {
            const title = titleOf(document);
            const badges = badgesOf(document, space.choices);
            const hasFile = Boolean(document.content?.[0]?.attachment?.url);
            return (
              <li key={document.id} class="card document" data-id={document.id}>
                <h2>{title}</h2>
                <dl>
                  <div>
                    <dt>{t('documents.type')}</dt>
                    <dd>{typeLabelOf(document)}</dd>
                  </div>
                  <div>
                    <dt>{t('documents.date')}</dt>
                    <dd>{formatDate(dateOf(document))}</dd>
                  </div>
                  <div>
                    <dt>{t('documents.author')}</dt>
                    <dd>{authorOf(document, space.authors)}</dd>
                  </div>
                  <div>
                    <dt>{t('documents.status')}</dt>
                    <dd>
                      {badges.length === 0 ? t('documents.visible') : <Badges badges={badges} />}
                    </dd>
                  </div>
                </dl>
                <div class="row">
                  {hasFile ? (
                    <button type="button" aria-label={t('documents.openLabel', { name: title })} onClick={() => void open(document)}>
                      {t('documents.open')}
                    </button>
                  ) : (
                    <span class="muted">{t('documents.noFile')}</span>
                  )}
                  {files[document.id ?? ''] && (
                    <a href={files[document.id ?? '']} download={`${title}.${extensionOf(document)}`}>
                      {t('documents.download', { name: title })}
                    </a>
                  )}
                </div>
                <AccessPanel document={document} title={title} />
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

const extensionOf = (document: DocumentReference) => (document.content?.[0]?.attachment?.contentType ?? '').split('/')[1]?.split(/[;+]/)[0] || 'bin';

interface AccessRow {
  practitioner: string;
  professions: string[];
  canSee: boolean;
  reasons: string[];
  emergency: Array<{ label: string; canSee: boolean }>;
}

/** `$access` (§10) in the person's language, asked when the panel is opened. */
function AccessPanel({ document, title }: { document: DocumentReference; title: string }) {
  const [rows, setRows] = useState<AccessRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    try {
      const answer = await fhirGet<Parameters>(`DocumentReference/${document.id}/$access?_lang=${currentLang()}`);
      setRows((answer.parameter ?? []).filter((part) => part.name === 'professional').map(rowOf));
    } catch (failed) {
      setError(failure(failed));
    }
  };
  return (
    <details
      class="access"
      onToggle={(event) => {
        if ((event.currentTarget as HTMLDetailsElement).open && !rows) void load();
      }}
    >
      <summary>{t('documents.access')}</summary>
      <h3 class="visually-hidden">{t('documents.accessTitle', { name: title })}</h3>
      {error && <p class="error-text">{error}</p>}
      {!rows && !error && <Loading />}
      {rows && rows.length === 0 && <p>{t('documents.accessNobody')}</p>}
      {rows && rows.length > 0 && (
        <ul class="audience">
          {rows.map((row) => (
            <li key={row.practitioner} class={row.canSee ? 'can' : 'cannot'}>
              <strong>{row.practitioner}</strong>
              {row.professions.length > 0 && <> ({row.professions.join(', ')})</>} <span class="verdict">{row.canSee ? t('documents.canSee') : t('documents.cannotSee')}</span>
              {row.reasons.length > 0 && <> — {row.reasons.join(' ; ')}</>}
              {row.emergency.length > 0 && (
                <span class="muted">
                  {' '}
                  — {row.emergency.map((mode) => `${mode.label} : ${mode.canSee ? t('yes') : t('no')}`).join(', ')}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}

const partsNamed = (parts: ParametersParameter[] | undefined, name: string) => (parts ?? []).filter((part) => part.name === name);

function rowOf(professional: ParametersParameter): AccessRow {
  const parts = professional.part ?? [];
  const practitioner = partsNamed(parts, 'practitioner')[0]?.valueReference;
  const reasons = partsNamed(parts, 'reason')
    .map((reason) => partsNamed(reason.part, 'text')[0]?.valueString ?? partsNamed(reason.part, 'code')[0]?.valueCode ?? '')
    .filter(Boolean);
  return {
    practitioner: practitioner?.display ?? practitioner?.reference ?? '?',
    professions: partsNamed(parts, 'profession').map((part) => professionLabel(part.valueCoding?.code ?? '', part.valueCoding?.display)),
    canSee: partsNamed(parts, 'canSee')[0]?.valueBoolean === true,
    reasons,
    emergency: partsNamed(parts, 'emergency').map((mode) => ({
      label: partsNamed(mode.part, 'label')[0]?.valueString ?? partsNamed(mode.part, 'mode')[0]?.valueCode ?? '',
      canSee: partsNamed(mode.part, 'canSee')[0]?.valueBoolean === true,
    })),
  };
}
