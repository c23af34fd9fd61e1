/**
 * What the person is told, for every screen: the live region that announces messages (polite for
 * news, assertive for errors), the loader hook, and the wrapper that turns a failed request
 * into a message in the person's language.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { t } from './i18n';

export type Say = (text: string, error?: boolean) => void;

export function Messages({ message }: { message: { text: string; error: boolean; n: number } | null }) {
  return (
    <div class="messages">
      <p role="status" aria-live="polite" class="message" data-n={message && !message.error ? message.n : undefined}>
        {message && !message.error ? message.text : ''}
      </p>
      <p role="alert" aria-live="assertive" class="message error" data-n={message?.error ? message.n : undefined}>
        {message?.error ? message.text : ''}
      </p>
    </div>
  );
}

/** The words for a failed request. */
export function failure(error: unknown): string {
  if (error instanceof ApiError) return t('error', { message: error.message });
  return t('error', { message: error instanceof Error ? error.message : String(error) });
}

/** Loads `load()` on mount and on `reload()`; `data` undefined while loading. */
export function useLoad<T>(load: () => Promise<T>, say: Say): { data: T | undefined; reload: () => Promise<void> } {
  const [data, setData] = useState<T | undefined>(undefined);
  const reload = useCallback(async () => {
    try {
      setData(await load());
    } catch (error) {
      say(failure(error), true);
    }
  }, []);
  useEffect(() => {
    void reload();
  }, []);
  return { data, reload };
}

/** Runs a change, announces `done` (or the failure), then reloads. */
export async function act(say: Say, change: () => Promise<unknown>, done: string, reload?: () => Promise<void>): Promise<boolean> {
  try {
    await change();
    if (reload) await reload();
    say(done);
    return true;
  } catch (error) {
    say(failure(error), true);
    return false;
  }
}

export const Loading = () => <p aria-busy="true">{t('loading')}</p>;

/** A document's badges (hidden, masked…), as both the documents and the hiding screens show them. */
export function Badges({ badges }: { badges: readonly string[] }) {
  return (
    <ul class="badges">
      {badges.map((badge) => (
        <li key={badge} class="badge">
          {badge}
        </li>
      ))}
    </ul>
  );
}
