/**
 * Passwords (§7): the rule a new password must pass, and its memory-hard hash.
 *
 * Rule: at least 12 characters and not guessable — zxcvbn-ts's estimate with the common
 * passwords and the French and English dictionaries must reach score 3 of 4; a refusal says
 * why in the person's words (zxcvbn's own warning and suggestions, in French or English).
 * Hash: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). A dummy hash is verified
 * when a person does not exist, so the answer takes as long as for one who does.
 * Never logs a password, never returns a hash.
 */
import argon2 from 'argon2';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as fr from '@zxcvbn-ts/language-fr';
import * as en from '@zxcvbn-ts/language-en';

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;
const MIN_SCORE = 3;

/** OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1. */
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export type Lang = 'fr' | 'en';

/** Built at the first password checked, not at start: the dictionaries take a while to load. */
const estimators: Partial<Record<Lang, ZxcvbnFactory>> = {};
function estimator(lang: Lang): ZxcvbnFactory {
  const dictionary = { ...common.dictionary, ...fr.dictionary, ...en.dictionary };
  return (estimators[lang] ??= new ZxcvbnFactory({ translations: lang === 'fr' ? fr.translations : en.translations, graphs: common.adjacencyGraphs, dictionary }));
}

const TOO_SHORT: Record<Lang, string> = {
  fr: `Le mot de passe doit compter au moins ${MIN_PASSWORD_LENGTH} caractères.`,
  en: `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`,
};
const TOO_LONG: Record<Lang, string> = {
  fr: `Le mot de passe doit compter au plus ${MAX_PASSWORD_LENGTH} caractères.`,
  en: `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`,
};
const GUESSABLE: Record<Lang, string> = {
  fr: 'Ce mot de passe est trop facile à deviner.',
  en: 'This password is too easy to guess.',
};

/** Why `password` is refused, in the person's language; undefined when it is accepted. `personal`: words of the person (name, birth date…) that must not make it. */
export function passwordRefusal(password: unknown, lang: Lang = 'fr', personal: string[] = []): string | undefined {
  if (typeof password !== 'string' || [...password].length < MIN_PASSWORD_LENGTH) return TOO_SHORT[lang];
  if ([...password].length > MAX_PASSWORD_LENGTH) return TOO_LONG[lang];
  const estimate = estimator(lang).check(password, personal.filter((word) => word.length >= 3));
  if (estimate.score >= MIN_SCORE) return undefined;
  return [GUESSABLE[lang], estimate.feedback.warning, ...estimate.feedback.suggestions].filter((part): part is string => !!part).join(' ');
}

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2);
}

let dummy: Promise<string> | undefined;

/** Verifies `password` against `hash`; with no hash, verifies against a dummy one and answers false (same time). */
export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  const target = hash ?? (await (dummy ??= argon2.hash('not-a-password-of-anyone', ARGON2)));
  try {
    const ok = await argon2.verify(target, password);
    return ok && hash !== undefined;
  } catch {
    return false;
  }
}
