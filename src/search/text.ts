/**
 * Text rules shared by the indexer and the query compiler, so both sides of a
 * comparison are built the same way: string normalisation (case and accents
 * folded), the length cap of indexed values, and the search value escapes of
 * search.html (`\,` `\|` `\$` `\\`). Pure functions; never touches the database.
 */

/** Longest indexed text (characters): btree entries must stay well under 2,700 bytes. */
export const MAX_INDEXED = 512;

const FOLDED: Record<string, string> = { œ: 'oe', æ: 'ae', ß: 'ss', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

/** Lower case, accents and ligatures removed, whitespace collapsed: `Élodie  Œuvre` → `elodie oeuvre`. */
export function normalizeString(value: string): string {
  return truncate(
    value
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .replace(/[œæßøłđðþı]/g, (ch) => FOLDED[ch] ?? ch)
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

/** Caps an indexed value; query values go through the same cap so equality still holds. */
export function truncate(value: string): string {
  return value.length > MAX_INDEXED ? value.slice(0, MAX_INDEXED) : value;
}

/** Splits at `separator` unless escaped with a backslash; parts keep their escapes. */
export function splitEscaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === separator) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

/** Removes search escapes: `a\,b` → `a,b`. */
export function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** Escapes `%`, `_` and `\` for a LIKE pattern (default escape character). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
