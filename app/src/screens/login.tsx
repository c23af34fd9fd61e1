/**
 * Login (§7): NIR and password, then the one-time code sent by email or SMS. A wrong NIR or
 * password is one message (the server does not say which), a wrong code another, too many
 * tries a third.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, startLogin, verifyLogin } from '../api';
import { currentLang, t } from '../i18n';
import { failure, type Say } from '../feedback';

export function Login({ say }: { say: Say }) {
  const [challenge, setChallenge] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (challenge) codeInput.current?.focus();
  }, [challenge]);

  const refused = (error: unknown, wrong: string) => {
    if (error instanceof ApiError && error.status === 429) return say(t('login.tooMany'), true);
    if (error instanceof ApiError && (error.status === 401 || error.status === 400)) return say(wrong, true);
    say(failure(error), true);
  };

  return (
    <section class="card narrow">
      <h1 tabIndex={-1}>{t('login.title')}</h1>
      {!challenge ? (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const form = new FormData(event.currentTarget);
            setBusy(true);
            try {
              const started = await startLogin(String(form.get('nir')).replace(/\s+/g, ''), String(form.get('password')), currentLang());
              setChallenge(started.challengeId);
              say(t('login.codeSent'));
            } catch (error) {
              refused(error, t('login.wrong'));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>{t('login.intro')}</p>
          <label for="nir">{t('login.nir')}</label>
          <input id="nir" name="nir" inputMode="numeric" autoComplete="username" required pattern="[0-9 ]{13,21}" />
          <label for="password">{t('login.password')}</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required />
          <button type="submit" disabled={busy}>
            {t('login.submit')}
          </button>
        </form>
      ) : (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const code = String(new FormData(event.currentTarget).get('code')).trim();
            setBusy(true);
            try {
              await verifyLogin(challenge, code, currentLang());
              say(t('login.welcome'));
            } catch (error) {
              refused(error, t('login.wrongCode'));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>{t('login.codeSent')}</p>
          <label for="code">{t('login.code')}</label>
          <input id="code" name="code" ref={codeInput} inputMode="numeric" autoComplete="one-time-code" required pattern="[0-9]{6}" maxLength={6} />
          <div class="row">
            <button type="submit" disabled={busy}>
              {t('login.verify')}
            </button>
            <button type="button" class="secondary" onClick={() => setChallenge(null)}>
              {t('login.restart')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
