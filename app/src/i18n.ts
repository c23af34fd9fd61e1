/**
 * The chosen language (French by default, English on request, kept in localStorage) and the
 * words in it: `t(key, values)` fills `{name}` slots from words/fr.ts or words/en.ts. Every
 * text a person reads comes from there; screens hold none.
 */
import { fr } from './words/fr';
import { en } from './words/en';

export type Key = keyof typeof fr;

export type Lang = 'fr' | 'en';
const dictionaries: Record<Lang, Record<Key, string>> = { fr, en };
const LANG_KEY = 'carnet.lang';

function initialLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'fr';
  } catch {
    return 'fr';
  }
}

let current: Lang = initialLang();
export const currentLang = () => current;

/** Changes the language (the root component re-renders every screen with it). */
export function setLang(next: Lang): void {
  current = next;
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch {
    // private mode: the choice lasts for the page
  }
  document.documentElement.lang = next;
}

export function t(key: Key, values: Record<string, string | number> = {}): string {
  return dictionaries[current][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? ''));
}

/** A TRE_G15 profession in words (the code itself when it has none here). */
export const professionLabel = (code: string, display?: string) => {
  const key = `profession.${code}`;
  return key in fr ? t(key as Key) : (display ?? code);
};

export const formatDate = (iso: string | undefined, withTime = false) =>
  iso ? new Intl.DateTimeFormat(current === 'fr' ? 'fr-FR' : 'en-GB', withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(new Date(iso)) : '—';
