/**
 * Dates as ranges: a FHIR date, dateTime or instant stands for every instant
 * within its precision (`2024` is the whole year, `2024-03-05T10:00:00` the
 * whole second). Both the indexer and the query compiler turn values into an
 * inclusive [lo, hi] pair of UTC ISO strings with microseconds, the resolution
 * of timestamptz. A time without a zone is read as UTC. Pure functions.
 */

export interface DateRange {
  lo: string;
  hi: string;
}

const PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Whole-day ranges need no clock arithmetic. */
function calendarRange(year: number, month?: number, day?: number): DateRange {
  const y = pad(year, 4);
  const loMonth = month ?? 1;
  const hiMonth = month ?? 12;
  const hiDay = day ?? daysInMonth(year, hiMonth);
  return { lo: `${y}-${pad(loMonth)}-${pad(day ?? 1)}T00:00:00.000000Z`, hi: `${y}-${pad(hiMonth)}-${pad(hiDay)}T23:59:59.999999Z` };
}

/** The range of a date/dateTime/instant string, or undefined when it is not one. */
export function dateRange(text: string): DateRange | undefined {
  const match = PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, ys, ms, ds, hh, mm, ss, fraction, zone] = match;
  const year = Number(ys);
  if (year < 1) return undefined; // PostgreSQL has no year 0
  const month = ms === undefined ? undefined : Number(ms);
  const day = ds === undefined ? undefined : Number(ds);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > daysInMonth(year, month as number))) return undefined;
  if (hh === undefined) return calendarRange(year, month, day);
  if (Number(hh) > 23 || Number(mm) > 59 || (ss !== undefined && Number(ss) > 59)) return undefined;
  const local = `${ys}-${ms}-${ds}T${hh}:${mm}:${ss ?? '00'}${zone ?? 'Z'}`;
  const instant = new Date(local);
  if (Number.isNaN(instant.getTime())) return undefined;
  const base = instant.toISOString().slice(0, 19); // whole seconds, UTC
  if (ss === undefined) {
    return { lo: `${base}.000000Z`, hi: `${base.slice(0, 17)}59.999999Z` };
  }
  if (fraction === undefined) return { lo: `${base}.000000Z`, hi: `${base}.999999Z` };
  const digits = fraction.slice(0, 6);
  const lo = Number(digits.padEnd(6, '0'));
  const hi = lo + 10 ** (6 - digits.length) - 1;
  return { lo: `${base}.${pad(lo, 6)}Z`, hi: `${base}.${pad(hi, 6)}Z` };
}

/** Milliseconds since the epoch of a range bound (microseconds dropped). */
export function boundMillis(bound: string): number {
  return new Date(bound.replace(/(\.\d{3})\d*Z$/, '$1Z')).getTime();
}

/** A millisecond timestamp as a range bound string. */
export function millisBound(millis: number): string {
  return new Date(millis).toISOString().replace(/Z$/, '000Z');
}

export const FOREVER_BEFORE = '-infinity';
export const FOREVER_AFTER = 'infinity';
