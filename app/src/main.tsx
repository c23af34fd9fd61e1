/**
 * The patient's web application (CONTRACT §10): the shell — the language switch, the login
 * or the space's menu, the screen of the path (/app/<screen>, history API; the server answers
 * index.html for every /app/ path), the space switch of a legal representative, and the one
 * live region where every message is announced. Each screen is its own module.
 */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Patient } from 'fhir/r4';
import { currentSession, fhirGet, logout, onSession, refresh, type Session } from './api';
import { currentLang, setLang, t, type Key } from './i18n';
import { Messages, type Say } from './feedback';
import { Login } from './screens/login';
import { Documents } from './screens/documents';
import { Professionals } from './screens/professionals';
import { Hiding } from './screens/hiding';
import { Emergency } from './screens/emergency';
import { History } from './screens/history';
import { Account } from './screens/account';
import './styles.css';

const SCREENS = ['documents', 'professionals', 'hiding', 'emergency', 'history', 'account'] as const;
type Screen = (typeof SCREENS)[number];

const screenOfPath = (): Screen => {
  const name = location.pathname.replace(/^\/app\/?/, '').split('/')[0];
  return (SCREENS as readonly string[]).includes(name) ? (name as Screen) : 'documents';
};

export interface ScreenProps {
  session: Session;
  say: Say;
}

function App() {
  const [lang, setLangState] = useState(currentLang());
  const [session, setSession] = useState<Session | null>(currentSession());
  const [screen, setScreen] = useState<Screen>(screenOfPath());
  const [message, setMessage] = useState<{ text: string; error: boolean; n: number } | null>(null);
  const main = useRef<HTMLElement>(null);

  useEffect(() => onSession(setSession), []);
  const entered = useRef(false);
  useEffect(() => {
    // after logging in, out, or switching space, the keyboard starts at the new screen's heading
    if (entered.current) requestAnimationFrame(() => main.current?.querySelector<HTMLElement>('h1')?.focus());
    entered.current = true;
  }, [session?.fhirUser, session === null]);
  useEffect(() => {
    const back = () => setScreen(screenOfPath());
    addEventListener('popstate', back);
    return () => removeEventListener('popstate', back);
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = `${t(session ? (`nav.${screen}` as Key) : 'login.title')} — ${t('appName')}`;
  }, [lang, screen, session]);

  const say: Say = (text, error = false) => setMessage((previous) => ({ text, error, n: (previous?.n ?? 0) + 1 }));
  const go = (next: Screen) => {
    history.pushState(null, '', `/app/${next}`);
    setScreen(next);
    setMessage(null);
    requestAnimationFrame(() => main.current?.querySelector<HTMLElement>('h1')?.focus());
  };
  const switchLang = () => {
    setLang(lang === 'fr' ? 'en' : 'fr');
    setLangState(currentLang());
  };

  return (
    <>
      <a class="skip" href="#main">
        {t('skip')}
      </a>
      <header class="top">
        <p class="brand">{t('appName')}</p>
        <div class="top-actions">
          <button type="button" class="link" lang={lang === 'fr' ? 'en' : 'fr'} aria-label={t('switchToLabel')} onClick={switchLang}>
            {t('switchTo')}
          </button>
          {session && (
            <button
              type="button"
              class="link"
              onClick={async () => {
                await logout();
                history.pushState(null, '', '/app/');
                say(t('loggedOut'));
              }}
            >
              {t('logout')}
            </button>
          )}
        </div>
      </header>
      {session && <SpaceSwitch session={session} say={say} />}
      {session && (
        <nav aria-label={t('nav')}>
          <ul>
            {SCREENS.map((name) => (
              <li key={name}>
                <a
                  href={`/app/${name}`}
                  aria-current={name === screen ? 'page' : undefined}
                  onClick={(event) => {
                    event.preventDefault();
                    go(name);
                  }}
                >
                  {t(`nav.${name}` as Key)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <Messages message={message} />
      <main id="main" ref={main} key={`${lang}-${session?.fhirUser ?? ''}-${screen}`}>
        {!session && <Login say={say} />}
        {session && screen === 'documents' && <Documents session={session} say={say} />}
        {session && screen === 'professionals' && <Professionals session={session} say={say} />}
        {session && screen === 'hiding' && <Hiding session={session} say={say} />}
        {session && screen === 'emergency' && <Emergency session={session} say={say} />}
        {session && screen === 'history' && <History session={session} say={say} />}
        {session && screen === 'account' && <Account session={session} say={say} />}
      </main>
    </>
  );
}

/** A legal representative's spaces (the login answer's `spaces`): the refresh grant's `space` switches. */
function SpaceSwitch({ session, say }: ScreenProps) {
  const [owner, setOwner] = useState<string | null>(null);
  useEffect(() => {
    if (session.spaces.length < 2) return;
    fhirGet<Patient>(`Patient/${session.patient}`)
      .then((patient) => setOwner([...(patient.name?.[0]?.given ?? []), patient.name?.[0]?.family].filter(Boolean).join(' ') || null))
      .catch(() => setOwner(null));
  }, [session.patient]);
  if (session.spaces.length < 2) return null;
  // the person's own space (fhirUser Patient/…), then each space they represent (RelatedPerson/…), numbered
  const represented = session.spaces.filter((space) => !space.fhirUser.startsWith('Patient/'));
  const label = (index: number) => {
    const space = session.spaces[index];
    return space.fhirUser.startsWith('Patient/') ? t('spaceOwn') : t('spaceOf', { n: represented.indexOf(space) + 1 });
  };
  return (
    <form
      class="space-switch"
      onSubmit={async (event) => {
        event.preventDefault();
        const wanted = (new FormData(event.currentTarget).get('space') as string) ?? '';
        try {
          await refresh(wanted);
          const index = session.spaces.findIndex((space) => space.fhirUser === wanted);
          say(t('switched', { name: label(index) }));
        } catch (error) {
          say(t('error', { message: (error as Error).message }), true);
        }
      }}
    >
      <label for="space">{t('space')}</label>
      <select id="space" name="space" value={session.fhirUser}>
        {session.spaces.map((space, index) => (
          <option key={space.fhirUser} value={space.fhirUser}>
            {label(index)}
          </option>
        ))}
      </select>
      <button type="submit">{t('switchSpace')}</button>
      {owner && <p class="space-owner">{t('spaceShown', { name: owner })}</p>}
    </form>
  );
}

render(<App />, document.getElementById('root') as HTMLElement);
