/**
 * The account-message outbox (CONTRACT §7): codes and notices accounts send a person by letter,
 * email or SMS, queued in the account's own transaction (src/notify/account-messages.ts) and sent
 * by a worker. `params` is sealed (AES-GCM under the `account-messages` secret) and wiped once
 * the message is sent or has failed for good: a code is never kept after delivery (the CHECK says
 * so). Claims are a token plus a lease, as in notification_outbox. Rows stay for the record.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE account_messages (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      channel         text        NOT NULL CHECK (channel IN ('letter', 'email', 'sms')),
      recipient       text        NOT NULL,
      template        text        NOT NULL,
      lang            text        NOT NULL DEFAULT 'fr' CHECK (lang IN ('fr', 'en')),
      params          text,
      status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
      attempts        integer     NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      claim_token     uuid,
      claimed_until   timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      sent_at         timestamptz,
      last_error      text,
      CONSTRAINT account_messages_wiped CHECK (status = 'pending' OR params IS NULL)
    );
    CREATE INDEX account_messages_due ON account_messages (next_attempt_at, id) WHERE status = 'pending';
  `);
  await knex.raw('INSERT INTO server_secrets (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', ['account-messages', randomBytes(32)]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE account_messages; DELETE FROM server_secrets WHERE name = 'account-messages';`);
}
