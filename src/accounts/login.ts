/**
 * Logging in (§7): NIR and password, then a 6-digit one-time code sent by email or SMS; the
 * server's own short-lived access token (`fhirUser` Patient/X or RelatedPerson/R, `patient/*`
 * scopes) and a rotating refresh token. Codes: keyed hash only, 10 minutes, single use, five
 * wrong tries end the challenge. A wrong NIR and a wrong password are the same 401, in content
 * and in time (a dummy hash is verified when the person does not exist). A refresh token is
 * void once used (its reuse revokes its whole family), after a password change, and when
 * its space is closed. Never logs or returns a password, a code or a key.
 */
import { randomUUID } from 'node:crypto';
import { FhirError } from '../kernel/errors';
import type { Executor } from '../store/executor';
import type { LocalKeys } from '../identity/local-keys';
import { OAuthError, type OAuthErrorCode } from '../identity/token-endpoint';
import { DAY, MINUTE, type Clock } from './clock';
import type { AccountMessages, MessageTemplate } from './messages';
import { AccountKeys, drawOneTimeCode, drawRefreshToken, isNir, sameKey } from './keys';
import { hashPassword, passwordRefusal, verifyPassword, type Lang } from './passwords';

export const CHALLENGE_TTL_MS = 10 * MINUTE;
export const MAX_CODE_TRIES = 5;
export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * DAY;
export const PATIENT_SCOPE = 'patient/*.* openid fhirUser offline_access';

const WRONG_LOGIN = 'the NIR or the password is wrong';
const WRONG_CODE = 'the code is wrong, used or expired';

export interface LoginOptions {
  sql: Executor;
  keys: AccountKeys;
  clock: Clock;
  messages: AccountMessages;
  localKeys: LocalKeys;
}

export interface TokenResponse {
  [field: string]: unknown;
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  patient: string;
  fhirUser: string;
  refresh_token: string;
  /** Every space this person may enter (their own, the minors they represent). */
  spaces: { fhirUser: string; patient: string }[];
}

interface LoginRow {
  nir_key: string;
  password_hash: string;
  email: string | null;
  phone: string | null;
  factor: 'email' | 'sms';
  credentials_changed_at: Date;
}

export class Login {
  constructor(private readonly options: LoginOptions) {}

  /** Step 1: NIR and password → a challenge; the code goes to the registered contact. */
  async start(body: unknown): Promise<{ challengeId: string }> {
    const { nir, password } = fields(body, ['nir', 'password']);
    const login = await this.loginOf(isNir(nir) ? this.options.keys.nir(nir) : this.options.keys.key('none', 'unknown login'));
    // The same statements and the same hash work whether the NIR is known or not (an unknown one probes a key no login has).
    const spaces = await this.spacesOf(this.options.sql, login?.nir_key ?? this.options.keys.key('none', 'unknown login'));
    const ok = await verifyPassword(login?.password_hash, typeof password === 'string' ? password : '');
    if (!ok || !login || spaces.length === 0) throw unauthorized(WRONG_LOGIN);
    const challengeId = await this.challenge(login, 'login', 'login-code');
    return { challengeId };
  }

  /** Step 2: the one-time code → tokens for the person's first space. */
  async verify(body: unknown): Promise<TokenResponse> {
    const { challengeId, code } = fields(body, ['challengeId', 'code']);
    const challenge = await this.consume(challengeId, code, 'login');
    return this.options.sql.transaction((trx) => this.issue(trx, challenge.login, undefined, randomUUID()));
  }

  /** The refresh_token grant: rotates the token; `space` switches to another space of the same person. */
  async refresh(refreshToken: unknown, space?: unknown): Promise<TokenResponse> {
    if (typeof refreshToken !== 'string' || refreshToken === '') throw oauth('invalid_request', 'refresh_token is required');
    const { sql, keys, clock } = this.options;
    // A refusal is decided inside the transaction and thrown after it commits (a reuse's revocation must stay).
    const outcome = await sql.transaction(async (trx): Promise<TokenResponse | OAuthError> => {
      const result = await trx.query<{ login: string; family: string; subject: string; expires_at: Date; used_at: Date | null; revoked_at: Date | null; created_at: Date; credentials_changed_at: Date }>(
        `SELECT t.*, l.credentials_changed_at FROM refresh_tokens t JOIN account_logins l ON l.nir_key = t.login WHERE t.token_key = ? FOR UPDATE OF t`,
        [keys.refreshToken(refreshToken)],
      );
      const row = result.rows[0];
      const now = clock.now();
      if (!row) return oauth('invalid_grant', 'the refresh token is not valid');
      if (row.used_at) {
        await trx.query('UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL', [now, row.family]);
        return oauth('invalid_grant', 'the refresh token was already used: its session is ended');
      }
      if (row.revoked_at || row.expires_at <= now || row.created_at < row.credentials_changed_at) return oauth('invalid_grant', 'the refresh token is not valid');
      const wanted = typeof space === 'string' && space !== '' ? space : row.subject;
      const spaces = await this.spacesOf(trx, row.login);
      if (!spaces.some((candidate) => candidate.fhirUser === wanted)) return oauth('invalid_grant', 'this person has no open space there');
      await trx.query('UPDATE refresh_tokens SET used_at = ? WHERE token_key = ?', [now, keys.refreshToken(refreshToken)]);
      return this.issue(trx, row.login, wanted, row.family);
    });
    if (outcome instanceof OAuthError) throw outcome;
    return outcome;
  }

  /** Ends the session of a refresh token (its family). Unknown tokens are accepted silently (RFC 7009). */
  async logout(refreshToken: unknown): Promise<void> {
    if (typeof refreshToken !== 'string') return;
    const { sql, keys, clock } = this.options;
    await sql.query('UPDATE refresh_tokens SET revoked_at = ? WHERE family IN (SELECT family FROM refresh_tokens WHERE token_key = ?) AND revoked_at IS NULL', [clock.now(), keys.refreshToken(refreshToken)]);
  }

  /** A password change by the logged-in person: the current one, then the new one; every refresh token ends. */
  async changePassword(subject: string, body: unknown, lang: Lang = 'fr'): Promise<void> {
    const { currentPassword, newPassword } = fields(body, ['currentPassword', 'newPassword']);
    const login = await this.loginOfSubject(subject);
    if (!login || !(await verifyPassword(login.password_hash, typeof currentPassword === 'string' ? currentPassword : ''))) throw new FhirError(400, 'invalid', 'the current password is wrong', 'currentPassword');
    await this.setPassword(login, newPassword, lang);
  }

  /** Password reset, step 1: NIR and Vitale serial → a challenge; the same answer whether they match or not. */
  async startReset(body: unknown): Promise<{ challengeId: string }> {
    const { nir, vitaleSerial } = fields(body, ['nir', 'vitaleSerial']);
    const { keys, sql } = this.options;
    const login = isNir(nir) ? await this.loginOf(keys.nir(nir)) : undefined;
    if (login && typeof vitaleSerial === 'string') {
      const proof = await sql.query('SELECT 1 FROM accounts WHERE login = ? AND vitale_key = ? AND state IN (\'active\', \'open\') LIMIT 1', [login.nir_key, keys.vitale(vitaleSerial)]);
      if (proof.rows.length) return { challengeId: await this.challenge(login, 'reset', 'reset-code') };
    }
    return { challengeId: randomUUID() }; // a challenge no code opens: nothing tells the NIR was unknown
  }

  /** Password reset, step 2: the code and the new password. */
  async finishReset(body: unknown, lang: Lang = 'fr'): Promise<void> {
    const { challengeId, code, password } = fields(body, ['challengeId', 'code', 'password']);
    const refusal = passwordRefusal(password, lang);
    if (refusal) throw new FhirError(400, 'invalid', refusal, 'password');
    const challenge = await this.consume(challengeId, code, 'reset');
    const login = await this.loginOf(challenge.login);
    if (!login) throw unauthorized(WRONG_CODE);
    await this.setPassword(login, password, lang);
  }

  /** Contact change, step 1 (logged in): the code goes to the new contact. */
  async startContactChange(subject: string, body: unknown): Promise<{ challengeId: string }> {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const email = typeof input.email === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email.trim()) ? input.email.trim() : undefined;
    const phone = typeof input.phone === 'string' && /^\+?[0-9 .-]{6,20}$/.test(input.phone.trim()) ? input.phone.trim() : undefined;
    if (!email === !phone) throw new FhirError(400, 'invalid', 'give one new contact: a valid email or phone', 'email');
    const login = await this.loginOfSubject(subject);
    if (!login) throw new FhirError(403, 'forbidden', 'this token has no account to change');
    const challengeId = await this.challenge(login, 'contact', 'contact-code', email ? { channel: 'email', to: email } : { channel: 'sms', to: phone as string }, { email, phone });
    return { challengeId };
  }

  /** Contact change, step 2: the code received at the new contact; the old and the new are told. */
  async finishContactChange(subject: string, body: unknown): Promise<void> {
    const { challengeId, code } = fields(body, ['challengeId', 'code']);
    const login = await this.loginOfSubject(subject);
    if (!login) throw new FhirError(403, 'forbidden', 'this token has no account to change');
    const challenge = await this.consume(challengeId, code, 'contact');
    await this.options.sql.transaction(async (trx) => {
      if (challenge.login !== login.nir_key) throw unauthorized(WRONG_CODE);
      const change = challenge.payload as { email?: string; phone?: string };
      if (change.email) await trx.query(`UPDATE account_logins SET email = ?, factor = 'email' WHERE nir_key = ?`, [change.email, login.nir_key]);
      if (change.phone) await trx.query(`UPDATE account_logins SET phone = ?, factor = 'sms' WHERE nir_key = ?`, [change.phone, login.nir_key]);
      for (const target of contactsOf(login)) await this.options.messages.queue(trx, { ...target, template: 'contact-changed', params: {} });
      if (change.email) await this.options.messages.queue(trx, { channel: 'email', to: change.email, template: 'contact-changed', params: {} });
      if (change.phone) await this.options.messages.queue(trx, { channel: 'sms', to: change.phone, template: 'contact-changed', params: {} });
    });
  }

  private async setPassword(login: LoginRow, password: unknown, lang: Lang): Promise<void> {
    const refusal = passwordRefusal(password, lang);
    if (refusal) throw new FhirError(400, 'invalid', refusal, 'newPassword');
    const hash = await hashPassword(password as string);
    await this.options.sql.transaction(async (trx) => {
      const now = this.options.clock.now();
      await trx.query('UPDATE account_logins SET password_hash = ?, credentials_changed_at = ? WHERE nir_key = ?', [hash, now, login.nir_key]);
      await trx.query('UPDATE refresh_tokens SET revoked_at = ? WHERE login = ? AND revoked_at IS NULL', [now, login.nir_key]);
      for (const target of contactsOf(login)) await this.options.messages.queue(trx, { ...target, template: 'password-changed', params: {} });
    });
  }

  private async challenge(login: LoginRow, purpose: 'login' | 'reset' | 'contact', template: MessageTemplate, to?: { channel: 'email' | 'sms'; to: string }, payload?: object): Promise<string> {
    const { sql, keys, clock } = this.options;
    const id = randomUUID();
    const code = drawOneTimeCode();
    const now = clock.now();
    const target = to ?? (login.factor === 'sms' && login.phone ? { channel: 'sms' as const, to: login.phone } : { channel: 'email' as const, to: (login.email ?? login.phone) as string });
    await sql.transaction(async (trx) => {
      await trx.query('INSERT INTO login_challenges (id, login, purpose, code_key, payload, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        id,
        login.nir_key,
        purpose,
        keys.oneTimeCode(id, code),
        payload ? JSON.stringify(payload) : null,
        new Date(now.getTime() + CHALLENGE_TTL_MS),
        now,
      ]);
      await this.options.messages.queue(trx, { ...target, template, params: { code } });
    });
    return id;
  }

  /** Checks a challenge's code in a transaction of its own: single use, 10 minutes, five wrong tries end it (a wrong try is kept). */
  private async consume(challengeId: unknown, code: unknown, purpose: string): Promise<{ login: string; payload: unknown }> {
    if (typeof challengeId !== 'string' || !/^[0-9a-f-]{36}$/i.test(challengeId) || typeof code !== 'string') throw unauthorized(WRONG_CODE);
    const { keys, clock } = this.options;
    const outcome = await this.options.sql.transaction(async (trx) => {
      const result = await trx.query<{ login: string; code_key: string; tries: number; expires_at: Date; ended_at: Date | null; payload: unknown; purpose: string }>('SELECT * FROM login_challenges WHERE id = ? FOR UPDATE', [challengeId]);
      const row = result.rows[0];
      const now = clock.now();
      if (!row || row.purpose !== purpose || row.ended_at || row.expires_at <= now) return undefined;
      if (!sameKey(row.code_key, keys.oneTimeCode(challengeId, code))) {
        await trx.query('UPDATE login_challenges SET tries = tries + 1, ended_at = CASE WHEN tries + 1 >= ? THEN ? ELSE ended_at END WHERE id = ?', [MAX_CODE_TRIES, now, challengeId]);
        return undefined;
      }
      await trx.query('UPDATE login_challenges SET ended_at = ? WHERE id = ?', [now, challengeId]);
      return { login: row.login, payload: row.payload };
    });
    if (!outcome) throw unauthorized(WRONG_CODE);
    return outcome;
  }

  private async issue(trx: Executor, loginKey: string, wanted: string | undefined, family: string): Promise<TokenResponse> {
    const spaces = await this.spacesOf(trx, loginKey);
    const space = wanted ? spaces.find((candidate) => candidate.fhirUser === wanted) : spaces[0];
    if (!space) throw wanted ? oauth('invalid_grant', 'this person has no open space there') : unauthorized(WRONG_CODE);
    const { keys, clock, localKeys } = this.options;
    const refreshToken = drawRefreshToken();
    const now = clock.now();
    await trx.query('INSERT INTO refresh_tokens (token_key, login, family, subject, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      keys.refreshToken(refreshToken),
      loginKey,
      family,
      space.fhirUser,
      new Date(now.getTime() + REFRESH_TOKEN_TTL_MS),
      now,
    ]);
    const accessToken = await localKeys.issueToken({ sub: space.fhirUser, fhirUser: space.fhirUser, patient: space.patient, scope: PATIENT_SCOPE }, { expiresIn: ACCESS_TOKEN_SECONDS });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_SECONDS, scope: PATIENT_SCOPE, patient: space.patient, fhirUser: space.fhirUser, refresh_token: refreshToken, spaces };
  }

  /** The person's active spaces: their own first, then the minors they represent. */
  private async spacesOf(sql: Executor, loginKey: string): Promise<{ fhirUser: string; patient: string }[]> {
    const result = await sql.query<{ subject: string; patient_id: string }>(
      `SELECT a.subject, a.patient_id FROM accounts a JOIN accounts s ON s.subject = 'Patient/' || a.patient_id
        WHERE a.login = ? AND a.state = 'active' AND s.state IN ('open', 'active') ORDER BY a.kind = 'patient' DESC, a.activated_at`,
      [loginKey],
    );
    return result.rows.map((row) => ({ fhirUser: row.subject, patient: row.patient_id }));
  }

  private async loginOf(nirKey: string): Promise<LoginRow | undefined> {
    return (await this.options.sql.query<LoginRow>('SELECT * FROM account_logins WHERE nir_key = ?', [nirKey])).rows[0];
  }

  private async loginOfSubject(subject: string): Promise<LoginRow | undefined> {
    return (await this.options.sql.query<LoginRow>('SELECT l.* FROM account_logins l JOIN accounts a ON a.login = l.nir_key WHERE a.subject = ? AND a.state = \'active\'', [subject])).rows[0];
  }
}

function contactsOf(login: LoginRow): { channel: 'email' | 'sms'; to: string }[] {
  return [...(login.email ? [{ channel: 'email' as const, to: login.email }] : []), ...(login.phone ? [{ channel: 'sms' as const, to: login.phone }] : [])];
}

function fields(body: unknown, names: string[]): Record<string, unknown> {
  const input = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  for (const name of names) if (input[name] === undefined || input[name] === '') throw new FhirError(400, 'required', `${name} is required`, name);
  return input;
}

function unauthorized(message: string): FhirError {
  return new FhirError(401, 'login', message);
}

function oauth(error: OAuthErrorCode, description: string): OAuthError {
  return new OAuthError(error, description);
}
