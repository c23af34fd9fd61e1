/**
 * The `phonetic` search parameter (Patient, Practitioner, Person,
 * RelatedPerson): a name sounds like another, by talisman's French Phonex
 * (`Dupond` ~ `Dupont`, `Lefèvre` ~ `Lefebvre`), not a prefix. Each word of
 * an indexed name part gets one search_string row whose value_normalized is
 * its key (computed at indexing time, extract.ts); a query word matches a
 * row with the same key. Pure; never touches the database.
 */
// talisman ships no type declarations: its French Phonex is a function of a word to its key
// eslint-disable-next-line @typescript-eslint/no-require-imports
const phonexModule = require('talisman/phonetics/french/phonex') as { default?: (word: string) => string } | ((word: string) => string);
const phonex = typeof phonexModule === 'function' ? phonexModule : (phonexModule.default as (word: string) => string);
import { normalizeString } from './text';

/** True for the standard `phonetic` parameter, which this module indexes and searches. */
export function isPhonetic(def: { code: string; type: string }): boolean {
  return def.code === 'phonetic' && def.type === 'string';
}

/** The Phonex keys of the words of a text (accents folded first: `Lefèvre` and `Lefevre` sound alike); none for a text of no letters. */
export function phoneticKeys(text: string): string[] {
  const keys = normalizeString(text)
    .split(/[^\p{L}]+/u)
    .filter((word) => word.length > 0)
    .map((word) => phonex(word))
    .filter((key) => key.length > 0);
  return [...new Set(keys)];
}
