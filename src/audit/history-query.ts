/**
 * The parameters of the activity history search (`GET /fhir/AuditEvent`):
 * `patient`, `_id`, `date` (eq ne gt lt ge le, with precision ranges), `agent`,
 * `action`, `subtype`, `outcome`, `_sort` (date, -date), `_count`, `_total`
 * and the keyset cursor `_page`. Parses and validates them into a HistoryQuery
 * (400 naming the parameter); never reads the database.
 */
import type { Sealer } from '../kernel/sealed';
import { badRequest } from '../kernel/errors';
import { header, type FhirRequest, type QueryParams } from '../kernel/request';

export interface DateBound {
  op: '>=' | '<' | 'ne';
  lo: Date;
  hi?: Date; // for 'ne': the excluded range [lo, hi)
}

export interface Cursor {
  recorded: Date;
  seq: number;
}

export interface HistoryQuery {
  patientIds: string[]; // every value of `patient` (the caller must own all of them)
  ids: string[][]; // `_id`: AND of ORs
  dates: DateBound[];
  agents: string[][]; // AND of ORs
  actions: string[][];
  subtypes: string[][];
  outcomes: string[][];
  descending: boolean;
  count: number;
  total: boolean;
  cursor?: Cursor;
  /** The parameters echoed in self and next links (unknown ones dropped when lenient). */
  echo: QueryParams;
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

const PATIENT = /^(?:.*\/)?(?:Patient\/)?([A-Za-z0-9\-.]{1,64})$/;
const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const ACTIONS = new Set(['C', 'R', 'U', 'D', 'E']);
const OUTCOMES = new Set(['0', '4', '8', '12']);

/** [lo, hi) of a FHIR date/dateTime at its precision. */
export function dateRange(value: string, parameter = 'date'): { lo: Date; hi: Date } {
  const m = DATE.exec(value);
  if (!m) throw badRequest(`invalid date "${value.slice(0, 40)}" in ${parameter}`, parameter);
  const [, year, month, day, hour, minute, second, fraction, zone] = m;
  const offset = zone && zone !== 'Z' ? (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) : 0;
  const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(Date.UTC(y, mo, d, h, mi - offset, s, ms));
  const y = Number(year);
  if (!month) return { lo: utc(y, 0, 1), hi: utc(y + 1, 0, 1) };
  const mo = Number(month) - 1;
  if (!day) return { lo: utc(y, mo, 1), hi: utc(y, mo + 1, 1) };
  const d = Number(day);
  if (!hour) return { lo: utc(y, mo, d), hi: utc(y, mo, d + 1) };
  const [h, mi] = [Number(hour), Number(minute)];
  if (!second) return { lo: utc(y, mo, d, h, mi), hi: utc(y, mo, d, h, mi + 1) };
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  const lo = utc(y, mo, d, h, mi, Number(second), ms);
  return { lo, hi: new Date(lo.getTime() + (fraction ? 1 : 1000)) };
}

function dateBound(value: string): DateBound {
  const prefix = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/.exec(value)?.[1];
  const { lo, hi } = dateRange(prefix ? value.slice(2) : value);
  switch (prefix ?? 'eq') {
    case 'ge':
      return { op: '>=', lo };
    case 'gt':
    case 'sa':
      return { op: '>=', lo: hi };
    case 'le':
      return { op: '<', lo: hi };
    case 'lt':
    case 'eb':
      return { op: '<', lo };
    case 'ne':
      return { op: 'ne', lo, hi };
    default:
      throw badRequest(`date prefix ${prefix} is not supported on AuditEvent`, 'date');
  }
}

function dateBounds(value: string): DateBound[] {
  const prefix = /^(eq|ap)?/.exec(value)?.[0] ?? '';
  if (/^(gt|lt|ge|le|sa|eb|ne)/.test(value)) return [dateBound(value)];
  const { lo, hi } = dateRange(value.slice(prefix.length));
  return [{ op: '>=', lo }, { op: '<', lo: hi }];
}

/** `_page`: the last event's time and sequence number, sealed (no count of the server's events in clear). */
export function cursorParam(cursor: Cursor, pageTokens: Sealer): [string, string] {
  return ['_page', pageTokens.seal({ a: cursor.recorded.toISOString(), s: cursor.seq })];
}

function decodeCursor(value: string, pageTokens: Sealer): Cursor {
  const opened = pageTokens.open(value) as { a?: unknown; s?: unknown } | undefined;
  const recorded = new Date(typeof opened === 'object' && opened !== null && typeof opened.a === 'string' ? opened.a : NaN);
  if (Number.isNaN(recorded.getTime()) || !Number.isSafeInteger(opened?.s)) throw badRequest('invalid _page cursor', '_page');
  return { recorded, seq: opened?.s as number };
}

function list(value: string, parameter: string, valid?: (item: string) => boolean): string[] {
  const items = value.split(',').map((item) => item.trim());
  const bad = items.find((item) => item === '' || (valid && !valid(item)));
  if (bad !== undefined) throw badRequest(`invalid value "${bad.slice(0, 40)}" for ${parameter}`, parameter);
  return items;
}

function countOf(value: string): number {
  if (!/^\d{1,7}$/.test(value)) throw badRequest(`invalid _count "${value.slice(0, 20)}"`, '_count');
  return Math.min(Number(value), MAX_COUNT);
}

/** Parses the query of `GET /fhir/AuditEvent` (and the form body of `POST /fhir/AuditEvent/_search`). */
/** The search parameters parseHistoryQuery reads (the CapabilityStatement's AuditEvent.searchParam). */
export const HISTORY_SEARCH_PARAMETERS = ['patient', '_id', 'date', 'agent', 'action', 'subtype', 'outcome'] as const;

export function parseHistoryQuery(request: FhirRequest, pageTokens: Sealer): HistoryQuery {
  const strict = /handling=strict/i.test(header(request, 'prefer') ?? '');
  const params: QueryParams = typeof request.body === 'string' ? [...request.query, ...new URLSearchParams(request.body)] : request.query;
  const query: HistoryQuery = { patientIds: [], ids: [], dates: [], agents: [], actions: [], subtypes: [], outcomes: [], descending: true, count: DEFAULT_COUNT, total: false, echo: [] };
  for (const [name, value] of params) {
    const [base, modifier] = name.split(':', 2);
    const keep = () => query.echo.push([name, value]);
    if (modifier !== undefined && !(base === 'patient' && modifier === 'Patient')) {
      if (strict) throw badRequest(`modifier :${modifier} is not supported on ${base}`, name);
      continue;
    }
    switch (base) {
      case 'patient':
        query.patientIds.push(...list(value, 'patient', (item) => PATIENT.test(item)).map((item) => PATIENT.exec(item)?.[1] as string));
        keep();
        break;
      case '_id':
        query.ids.push(list(value, '_id', (item) => /^[A-Za-z0-9\-.]{1,64}$/.test(item)));
        keep();
        break;
      case 'date':
        query.dates.push(...dateBounds(value));
        keep();
        break;
      case 'agent':
        query.agents.push(list(value, 'agent'));
        keep();
        break;
      case 'action':
        query.actions.push(list(value, 'action', (item) => ACTIONS.has(item)));
        keep();
        break;
      case 'subtype':
        query.subtypes.push(list(value, 'subtype').map((item) => item.split('|').pop() as string));
        keep();
        break;
      case 'outcome':
        query.outcomes.push(list(value, 'outcome', (item) => OUTCOMES.has(item)));
        keep();
        break;
      case '_sort':
        if (value !== 'date' && value !== '-date') throw badRequest(`AuditEvent history sorts by date or -date only`, '_sort');
        query.descending = value === '-date';
        keep();
        break;
      case '_count':
        query.count = countOf(value);
        keep();
        break;
      case '_total':
        if (!['none', 'estimate', 'accurate'].includes(value)) throw badRequest(`invalid _total "${value.slice(0, 20)}"`, '_total');
        query.total = value !== 'none';
        keep();
        break;
      case '_page':
        query.cursor = decodeCursor(value, pageTokens);
        break;
      default:
        if (strict) throw badRequest(`unknown search parameter ${name.slice(0, 60)} for AuditEvent`, name);
    }
  }
  return query;
}
