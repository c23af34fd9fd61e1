/**
 * The accounts, composed: enrolment, login, closure, the space lifecycle and the shared rate
 * counters, behind the one face the http adapter calls (http/accounts.ts AccountServices).
 * Built once by the composition root (server.ts). Holds no rule of its own.
 */
import type { Executor } from '../store/executor';
import type { LocalKeys } from '../identity/local-keys';
import type { AuditRecord } from '../audit/trail';
import { FhirError } from '../kernel/errors';
import type { Caller, PatientCaller } from '../kernel/caller';
import type { Clock } from './clock';
import type { AccountMessages } from './messages';
import { AccountKeys, isNir } from './keys';
import { Enrolment, type FhirPort } from './enrolment';
import { Login } from './login';
import { Closure } from './closure';
import { SpaceLifecycle } from './spaces';
import { RateCounters } from './rate-limits';

export interface AccountsOptions {
  sql: Executor;
  secret: Buffer;
  clock: Clock;
  messages: AccountMessages;
  fhir: FhirPort;
  localKeys: LocalKeys;
  erase: (sql: Executor, patientId: string) => Promise<unknown>;
  record: (records: AuditRecord[]) => Promise<void>;
  observer: string;
  retentionYears: number;
  rateWindowMs: number;
}

export function createAccounts(options: AccountsOptions) {
  const keys = new AccountKeys(options.secret);
  const enrolment = new Enrolment({ ...options, keys });
  const login = new Login({ ...options, keys });
  const closure = new Closure(options);
  const lifecycle = new SpaceLifecycle(options);
  const counters = new RateCounters(options.sql, options.rateWindowMs);
  const services = {
    enrol: (caller: Caller, body: unknown) => enrolment.enrol(caller, body),
    oppose: (body: unknown) => enrolment.oppose(body as never),
    activate: (body: unknown, lang: 'fr' | 'en') => enrolment.activate(body, lang),
    login: (body: unknown) => login.start(body),
    verifyLogin: (body: unknown) => login.verify(body),
    refresh: (refreshToken: unknown, space?: unknown) => login.refresh(refreshToken, space),
    logout: (refreshToken: unknown) => login.logout(refreshToken),
    startReset: (body: unknown) => login.startReset(body),
    finishReset: (body: unknown, lang: 'fr' | 'en') => login.finishReset(body, lang),
    changePassword: (subject: string, body: unknown, lang: 'fr' | 'en') => login.changePassword(subject, body, lang),
    startContactChange: (subject: string, body: unknown) => login.startContactChange(subject, body),
    finishContactChange: (subject: string, body: unknown) => login.finishContactChange(subject, body),
    close: async (caller: PatientCaller) => {
      const state = await lifecycle.stateOf(caller.patientId);
      if (state === 'closed' || state === 'opposed' || (!state && !(await patientExists(options.sql, caller.patientId)))) throw new FhirError(404, 'not-found', 'this space does not exist');
      return closure.close(caller);
    },
    accountKeyOf: (body: unknown) => {
      const nir = (body as { nir?: unknown } | undefined)?.nir;
      return isNir(nir) ? keys.nir(nir) : undefined;
    },
  };
  return { services, lifecycle, counters, keys };
}

async function patientExists(sql: Executor, patientId: string): Promise<boolean> {
  const result = await sql.query(`SELECT 1 FROM resources WHERE resource_type = 'Patient' AND id = ? AND NOT deleted`, [patientId]);
  return result.rows.length > 0;
}

export type Accounts = ReturnType<typeof createAccounts>;
