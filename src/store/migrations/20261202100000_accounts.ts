/**
 * Accounts (CONTRACT §7): the patient's door.
 *
 * - `accounts`: one row per space and per person entitled to log into it: the patient's own
 *   (`subject` Patient/X) and each legal representative's (`subject` RelatedPerson/R). The
 *   patient's row carries the space's state (pending → open | active → closed; pending →
 *   opposed). No NIR, Vitale serial or code is kept in clear: `nir_key`, `vitale_key` and
 *   `code_key` are HMAC-SHA256 under the `account-keys` secret (src/accounts/keys.ts).
 * - `account_logins`: one per person (the NIR that logs in), made at the first activation:
 *   the argon2id password hash, the contacts the one-time codes go to, when the credentials
 *   last changed (refresh tokens issued before are void).
 * - `account_oppositions`: what is left of a space whose opening was opposed: the keyed hash
 *   of the NIR and the instant. No health data; a second enrolment of that NIR is refused.
 * - `closed_spaces`: the spaces closed by their patient (with or without an account): the
 *   access predicate probes it, so nobody reaches X's data from the closing instant.
 * - `login_challenges`: second factors and confirmation codes (login, password reset, contact
 *   change): the code's keyed hash, expiry, tries, single use.
 * - `refresh_tokens`: rotating refresh tokens (only their hash), in families: a reused one
 *   revokes its family.
 * - `rate_limits`: fixed-window counters shared by every server process.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE account_logins (
      nir_key                text COLLATE "C" PRIMARY KEY,
      password_hash          text        NOT NULL,
      email                  text,
      phone                  text,
      factor                 text        NOT NULL CHECK (factor IN ('email', 'sms')),
      credentials_changed_at timestamptz NOT NULL,
      created_at             timestamptz NOT NULL
    );

    CREATE TABLE accounts (
      subject                text COLLATE "C" PRIMARY KEY,
      patient_id             text COLLATE "C" NOT NULL,
      kind                   text        NOT NULL CHECK (kind IN ('patient', 'representative')),
      state                  text        NOT NULL CHECK (state IN ('pending', 'open', 'active', 'opposed', 'closed')),
      nir_key                text COLLATE "C",
      vitale_key             text COLLATE "C",
      code_key               text COLLATE "C",
      code_expires           timestamptz,
      login                  text COLLATE "C" REFERENCES account_logins (nir_key),
      email                  text,
      phone                  text,
      created_by             text        NOT NULL,
      created_at             timestamptz NOT NULL,
      opens_at               timestamptz,
      opened_at              timestamptz,
      opening_notice_at      timestamptz,
      activated_at           timestamptz,
      closed_at              timestamptz,
      purge_after            timestamptz,
      purged_at              timestamptz
    );
    CREATE UNIQUE INDEX accounts_code ON accounts (code_key) WHERE code_key IS NOT NULL;
    CREATE INDEX accounts_patient ON accounts (patient_id);
    CREATE INDEX accounts_login ON accounts (login) WHERE login IS NOT NULL;
    CREATE INDEX accounts_nir ON accounts (nir_key) WHERE nir_key IS NOT NULL;
    CREATE INDEX accounts_opening ON accounts (opens_at) WHERE state = 'pending';
    CREATE INDEX accounts_retention ON accounts (purge_after) WHERE state = 'closed' AND purged_at IS NULL;

    CREATE TABLE account_oppositions (
      nir_key    text COLLATE "C" PRIMARY KEY,
      opposed_at timestamptz NOT NULL
    );

    CREATE TABLE closed_spaces (
      patient_id text COLLATE "C" PRIMARY KEY,
      closed_at  timestamptz NOT NULL
    );

    CREATE TABLE login_challenges (
      id         uuid PRIMARY KEY,
      login      text COLLATE "C" NOT NULL REFERENCES account_logins (nir_key) ON DELETE CASCADE,
      purpose    text        NOT NULL CHECK (purpose IN ('login', 'reset', 'contact')),
      code_key   text COLLATE "C" NOT NULL,
      payload    jsonb,
      tries      integer     NOT NULL DEFAULT 0,
      expires_at timestamptz NOT NULL,
      ended_at   timestamptz,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX login_challenges_login ON login_challenges (login);

    CREATE TABLE refresh_tokens (
      token_key  text COLLATE "C" PRIMARY KEY,
      login      text COLLATE "C" NOT NULL REFERENCES account_logins (nir_key) ON DELETE CASCADE,
      family     uuid        NOT NULL,
      subject    text COLLATE "C" NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at    timestamptz,
      revoked_at timestamptz,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX refresh_tokens_login ON refresh_tokens (login);
    CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

    CREATE TABLE rate_limits (
      key      text COLLATE "C" PRIMARY KEY,
      hits     integer     NOT NULL,
      reset_at timestamptz NOT NULL
    );
  `);
  await knex.raw('INSERT INTO server_secrets (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', ['account-keys', randomBytes(32)]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE rate_limits; DROP TABLE refresh_tokens; DROP TABLE login_challenges; DROP TABLE closed_spaces;
    DROP TABLE account_oppositions; DROP TABLE accounts; DROP TABLE account_logins;
    DELETE FROM server_secrets WHERE name = 'account-keys';
  `);
}
