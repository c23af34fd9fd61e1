/**
 * The account (§7): the export (`GET /account/export`, one FHIR Bundle saved as
 * carnet-export.json) and the closure of the space (`POST /account/close`) after an explicit
 * confirmation; closing ends the session. Only the patient closes their own space.
 */
import { useState } from 'preact/hooks';
import { authorized, logout } from '../api';
import { t } from '../i18n';
import { act, failure } from '../feedback';
import type { ScreenProps } from '../main';

export function Account({ session, say }: ScreenProps) {
  const [file, setFile] = useState<string | null>(null);
  const [confirmed, setConfirmed] = useState(false);
  const isPatient = session.fhirUser.startsWith('Patient/');

  const exportAll = async () => {
    try {
      const response = await authorized('/account/export', { headers: { Accept: 'application/fhir+json' } });
      const url = URL.createObjectURL(await response.blob());
      setFile(url);
      const link = document.createElement('a');
      link.href = url;
      link.download = 'carnet-export.json';
      document.body.append(link);
      link.click();
      link.remove();
      say(t('account.exportReady'));
    } catch (error) {
      say(failure(error), true);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('account.title')}</h1>
      <section class="card" aria-labelledby="export-title">
        <h2 id="export-title">{t('account.export')}</h2>
        <p>{t('account.exportIntro')}</p>
        <button type="button" onClick={() => void exportAll()}>
          {t('account.export')}
        </button>
        {file && (
          <p>
            <a href={file} download="carnet-export.json">
              {t('account.exportLink')}
            </a>
          </p>
        )}
      </section>
      <section class="card" aria-labelledby="close-title">
        <h2 id="close-title">{t('account.closeTitle')}</h2>
        <p>{t('account.closeIntro')}</p>
        {!isPatient ? (
          <p>{t('account.representative')}</p>
        ) : (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              if (!confirmed) return;
              void act(
                say,
                async () => {
                  await authorized('/account/close', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
                  await logout();
                },
                t('account.closed'),
              );
            }}
          >
            <label class="check">
              <input type="checkbox" checked={confirmed} onChange={(event) => setConfirmed((event.currentTarget as HTMLInputElement).checked)} />
              {t('account.closeConfirm')}
            </label>
            <button type="submit" class="danger" disabled={!confirmed}>
              {t('account.close')}
            </button>
          </form>
        )}
      </section>
    </section>
  );
}
