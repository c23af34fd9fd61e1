/**
 * The activity history (§6): `AuditEvent?patient=Patient/X&_sort=-date`, newest first, page by
 * page through the server's `next` links, optionally for one professional (`agent`): when, who,
 * what, in which mode (purposeOfUse: care, SAMU, break-glass with its reason), and the outcome.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent, Bundle } from 'fhir/r4';
import { fhirSearch } from '../api';
import { directory, nameOf } from '../choices';
import { formatDate, t, type Key } from '../i18n';
import { failure, Loading } from '../feedback';
import type { ScreenProps } from '../main';

const PAGE = 20;

export function History({ session, say }: ScreenProps) {
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [agent, setAgent] = useState('');
  const [agents, setAgents] = useState<string[]>([]);
  const [names, setNames] = useState<Map<string, string>>(new Map());

  const fetchPage = async (url: string, append: boolean) => {
    try {
      const bundle: Bundle<AuditEvent> = await fhirSearch<AuditEvent>(url);
      const page = (bundle.entry ?? []).map((entry) => entry.resource as AuditEvent).filter(Boolean);
      setEvents((previous) => (append ? [...(previous ?? []), ...page] : page));
      setNext(bundle.link?.find((link) => link.relation === 'next')?.url);
      const seen = page.flatMap((event) => (event.agent ?? []).map((a) => a.who?.reference ?? '')).filter((reference) => reference.startsWith('Practitioner/'));
      setAgents((previous) => [...new Set([...previous, ...seen])].sort());
      const unknown = seen.filter((reference) => !names.has(reference));
      if (unknown.length) {
        const found = await directory(unknown);
        setNames((previous) => new Map([...previous, ...[...found].map(([reference, entry]) => [reference, nameOf(entry.practitioner, reference)] as [string, string])]));
      }
      if (append) say(`${page.length} +`);
    } catch (error) {
      say(failure(error), true);
    }
  };
  const first = (who: string) => fetchPage(`AuditEvent?patient=Patient/${session.patient}&_sort=-date&_count=${PAGE}${who ? `&agent=${encodeURIComponent(who)}` : ''}`, false);
  useEffect(() => {
    void first('');
  }, []);

  const nameOfRef = (reference: string | undefined, display?: string) => display ?? (reference ? (names.get(reference) ?? reference) : '—');

  return (
    <section>
      <h1 tabIndex={-1}>{t('history.title')}</h1>
      <p>{t('history.intro')}</p>
      <form
        class="row card"
        onSubmit={(event) => {
          event.preventDefault();
          const who = String(new FormData(event.currentTarget).get('agent') ?? '');
          setAgent(who);
          setEvents(null);
          void first(who);
        }}
      >
        <div class="field grow">
          <label for="history-agent">{t('history.filter')}</label>
          <select id="history-agent" name="agent" value={agent}>
            <option value="">{t('history.everyone')}</option>
            {agents.map((reference) => (
              <option key={reference} value={reference}>
                {nameOfRef(reference)}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">{t('history.apply')}</button>
      </form>
      {!events && <Loading />}
      {events && events.length === 0 && <p>{t('history.none')}</p>}
      {events && events.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="history-caption">
          <table class="history">
            <caption id="history-caption" class="visually-hidden">
              {t('history.title')}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('history.when')}</th>
                <th scope="col">{t('history.who')}</th>
                <th scope="col">{t('history.what')}</th>
                <th scope="col">{t('history.mode')}</th>
                <th scope="col">{t('history.outcome')}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => {
                const requestor = event.agent?.find((a) => a.requestor) ?? event.agent?.[0];
                const purpose = requestor?.purposeOfUse?.flatMap((p) => p.coding ?? [])[0]?.code ?? 'TREAT';
                const reason = requestor?.purposeOfUse?.find((p) => p.text)?.text;
                return (
                  <tr key={event.id}>
                    <td>{formatDate(event.recorded, true)}</td>
                    <td>{nameOfRef(requestor?.who?.reference, requestor?.who?.display)}</td>
                    <td>{whatOf(event)}</td>
                    <td>
                      {modeLabel(purpose)}
                      {reason && <span class="reason"> — {t('history.reason', { reason })}</span>}
                    </td>
                    <td>{event.outcome === '0' ? t('history.ok') : event.outcome === '4' ? t('history.refused') : t('history.failed')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" class="secondary" onClick={() => void fetchPage(next, true)}>
          {t('history.more')}
        </button>
      )}
    </section>
  );
}

const modeLabel = (code: string) => (['TREAT', 'ETREAT', 'BTG'].includes(code) ? t(`mode.${code}` as Key) : code);

/** The restful interaction (subtype) in words, and the kinds of data it touched. */
function whatOf(event: AuditEvent): string {
  const subtype = event.subtype?.map((coding) => coding.code ?? '').find(Boolean) ?? '';
  const verb = /^search/.test(subtype)
    ? 'what.search'
    : /^history/.test(subtype)
      ? 'what.history'
      : ['read', 'vread'].includes(subtype)
        ? 'what.read'
        : ['create', 'update', 'delete', 'operation'].includes(subtype)
          ? `what.${subtype}`
          : subtype === 'patch'
            ? 'what.update'
            : ({ C: 'what.create', R: 'what.read', U: 'what.update', D: 'what.delete', E: 'what.operation' } as Record<string, string>)[event.action ?? 'R'];
  const types = (event.entity ?? []).map((entity) => /(?:^|\/)([A-Z][A-Za-z]+)\/[^/]+(?:\/_history\/[^/]+)?$/.exec(entity.what?.reference ?? '')?.[1]).filter((type): type is string => Boolean(type));
  const touched = types.some((type) => type !== 'Patient') ? types.filter((type) => type !== 'Patient') : types;
  const words = [...new Set(touched.map((type) => (['DocumentReference', 'Binary', 'Patient', 'Consent', 'Immunization'].includes(type) ? t(`type.${type}` as Key) : t('type.other'))))];
  return [t((verb ?? 'what.read') as Key), words.join(', ') || t('type.Patient')].join(' ');
}
