/**
 * The application's only door to Carnet: the public API of this origin (CONTRACT §7 login,
 * refresh and logout, /account, and /fhir with the person's bearer token). Keeps the session
 * (tokens, the space in use, the other spaces) in sessionStorage, refreshes the access token
 * before it expires (and once on a 401), and turns refusals into ApiError with the server's
 * own words. Knows nothing of screens.
 */
import type { Bundle, FhirResource, OperationOutcome } from 'fhir/r4';

export interface Space {
  fhirUser: string;
  patient: string;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** epoch ms when the access token expires */
  expiresAt: number;
  patient: string;
  fhirUser: string;
  spaces: Space[];
}

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  patient: string;
  fhirUser: string;
  spaces?: Space[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const KEY = 'carnet.session';
/** Refresh this long before the access token expires. */
const MARGIN_MS = 30_000;

let session: Session | null = load();
const listeners = new Set<(session: Session | null) => void>();

function load(): Session | null {
  try {
    const text = sessionStorage.getItem(KEY);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

function store(next: Session | null): void {
  session = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(next);
}

export const currentSession = () => session;

export function onSession(listener: (session: Session | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function fromTokens(answer: TokenAnswer, previous?: Session | null): Session {
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    expiresAt: Date.now() + answer.expires_in * 1000,
    patient: answer.patient,
    fhirUser: answer.fhirUser,
    spaces: answer.spaces ?? previous?.spaces ?? [],
  };
}

/** The words of an OperationOutcome or an OAuth error, else the status line. */
async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as Partial<OperationOutcome> & { error_description?: string };
    message = body.issue?.map((issue) => issue.diagnostics ?? issue.details?.text).filter(Boolean).join(' ') || body.error_description || message;
  } catch {
    // not JSON: the status line
  }
  return new ApiError(response.status, message);
}

async function postJson<T>(path: string, body: unknown, lang: string): Promise<T> {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Accept-Language': lang }, body: JSON.stringify(body) });
  if (!response.ok) throw await errorOf(response);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** §7 step 1: NIR and password → the challenge whose one-time code is sent by email or SMS. */
export const startLogin = (nir: string, password: string, lang: string) => postJson<{ challengeId: string }>('/auth/login', { nir, password }, lang);

/** §7 step 2: the one-time code → the session. */
export async function verifyLogin(challengeId: string, code: string, lang: string): Promise<Session> {
  const answer = await postJson<TokenAnswer>('/auth/login/verify', { challengeId, code }, lang);
  store(fromTokens(answer));
  return session as Session;
}

let refreshing: Promise<void> | null = null;

/** The refresh_token grant (single use: one refresh at a time); `space` switches to another space of the person. */
export function refresh(space?: string): Promise<void> {
  if (refreshing && !space) return refreshing;
  const current = session;
  if (!current) return Promise.reject(new ApiError(401, 'not logged in'));
  const run = (async () => {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken, ...(space ? { space } : {}) });
    const response = await fetch('/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    if (!response.ok) {
      const error = await errorOf(response);
      if (!space) store(null); // the session is over
      throw error;
    }
    store(fromTokens((await response.json()) as TokenAnswer, current));
  })();
  refreshing = run.finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function logout(): Promise<void> {
  const current = session;
  store(null);
  if (current) await fetch('/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: current.refreshToken }) }).catch(() => undefined);
}

/** A request with the bearer token (refreshed when it is about to expire, and once after a 401). */
export async function authorized(path: string, init: RequestInit = {}): Promise<Response> {
  if (!session) throw new ApiError(401, 'not logged in');
  if (session.expiresAt - Date.now() < MARGIN_MS) await refresh();
  const send = () => fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${session?.accessToken}` } });
  let response = await send();
  if (response.status === 401 && session) {
    await refresh();
    response = await send();
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** `/fhir/...` relative to the FHIR base; an absolute link of the server (paging) is taken by its path. */
export function fhirPath(url: string): string {
  const at = url.indexOf('/fhir/');
  return at >= 0 ? url.slice(at) : `/fhir/${url.replace(/^\/+/, '')}`;
}

const FHIR_JSON = 'application/fhir+json';

export async function fhirGet<T extends FhirResource = FhirResource>(url: string): Promise<T> {
  const response = await authorized(fhirPath(url), { headers: { Accept: FHIR_JSON } });
  return (await response.json()) as T;
}

export const fhirSearch = <T extends FhirResource>(url: string) => fhirGet<Bundle<T>>(url);

export async function fhirWrite<T extends FhirResource>(method: 'POST' | 'PUT', url: string, resource: T): Promise<T> {
  const response = await authorized(fhirPath(url), {
    method,
    headers: { Accept: FHIR_JSON, 'Content-Type': FHIR_JSON, Prefer: 'return=representation' },
    body: JSON.stringify(resource),
  });
  return (await response.json()) as T;
}

/** The raw bytes of a Binary (ITI-68), as a Blob of its content type. */
export async function binaryBlob(url: string, contentType: string): Promise<Blob> {
  const response = await authorized(fhirPath(url), { headers: { Accept: contentType || '*/*' } });
  return response.blob();
}

/** Every resource of a search, following `next` links up to `maxPages`. */
export async function searchAll<T extends FhirResource>(url: string, maxPages = 10): Promise<{ resources: T[]; included: FhirResource[] }> {
  const resources: T[] = [];
  const included: FhirResource[] = [];
  let next: string | undefined = url;
  for (let page = 0; next && page < maxPages; page++) {
    const bundle: Bundle = await fhirSearch(next);
    for (const entry of bundle.entry ?? []) {
      if (!entry.resource) continue;
      if (entry.search?.mode === 'include') included.push(entry.resource as FhirResource);
      else resources.push(entry.resource as T);
    }
    next = bundle.link?.find((link) => link.relation === 'next')?.url;
  }
  return { resources, included };
}
