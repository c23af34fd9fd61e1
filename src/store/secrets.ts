/**
 * The secrets of `server_secrets` (migration …_server_secrets): made once per database, read
 * at start by every server process. Never logs or returns a secret anywhere but to its caller.
 */
import type { Executor } from './executor';

export async function serverSecret(sql: Executor, name: string): Promise<Buffer> {
  const result = await sql.query<{ secret: Buffer }>('SELECT secret FROM server_secrets WHERE name = ?', [name]);
  const secret = result.rows[0]?.secret;
  if (!secret) throw new Error(`server secret ${name} is missing from server_secrets (were the migrations run?)`);
  return secret;
}
