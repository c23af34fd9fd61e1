/**
 * Configuration: every setting Carnet reads from the environment, parsed once.
 * Owns defaults and validation of settings; never reads process.env elsewhere.
 */
import os from 'node:os';
import path from 'node:path';
import { parseNotifySettings, type NotifySettings } from './notify/settings';

export interface Config {
  port: number;
  host: string;
  baseUrl: string;
  databaseUrl?: string;
  dataDir: string;
  /** EMBEDDED_PG_PORT; unset: the data directory's own port (store/embedded.ts). */
  embeddedPort?: number;
  maxBodyBytes: number;
  /** MAX_BINARY: the largest raw Binary upload (CONTRACT §9), streamed to storage; default 50 MB. */
  maxBinaryBytes: number;
  authIssuer?: string;
  authJwks?: string;
  authAudience?: string;
  /** CLIENTS_FILE: the registered system clients of the token endpoint (§8, src/identity/clients.ts); unset: none. */
  clientsFile?: string;
  /** CORS_ORIGINS: the browser origins allowed to call the API (§8); empty: no CORS headers; `*`: any origin (no credentials are ever allowed). */
  corsOrigins: string[];
  devKeyDir: string;
  /** APP_DIR: the built patient web app served at /app/ (src/http/app-static.ts); default dist/app of the project. */
  appDir: string;
  /** DEV_OUTBOX_DIR: account messages of a channel without a real transport are written here (src/notify/dev-outbox.ts). */
  devOutboxDir: string;
  logLevel: string;
  /** WORKERS: server processes sharing the port (node:cluster); `auto` = one per core. Default 1. */
  workers: number;
  /** AUDIT_VERIFIERS: the system clients (client ids) that may run `$verify-audit` on any patient's chain. */
  auditVerifiers: string[];
  /** RETENTION_YEARS, AUTH_FAILURES_PER_IP, AUTH_FAILURES_PER_ACCOUNT (§7). */
  accounts: { retentionYears: number; failuresPerIp: number; failuresPerAccount: number; rateWindowMs: number };
  /** SMTP_URL, NOTIFY_FROM, NOTIFY_DIGEST_MINUTES, NOTIFY_WORKER (src/notify/settings.ts). */
  notify: NotifySettings;
}

/** Parses sizes such as `10mb`, `512kb` or a plain byte count. */
export function parseSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(value.trim());
  if (!match) throw new Error(`invalid size: ${value}`);
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
  return Math.floor(Number(match[1]) * units[(match[2] ?? 'b').toLowerCase()]);
}

/** A size setting, named in the start-up error when its value is not a size of at least one byte. */
function sizeSetting(name: string, value: string | undefined, fallback: string): number {
  const text = value === undefined || value.trim() === '' ? fallback : value;
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch {
    throw new Error(`invalid ${name}: ${text} (a size such as 50mb, 512kb or a byte count)`);
  }
  if (bytes < 1) throw new Error(`invalid ${name}: ${text} (at least 1 byte)`);
  return bytes;
}

function portOf(name: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid ${name}: ${value} (a port, 1 to 65535)`);
  return port;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`invalid ${name}: ${value} (a whole number, at least 1)`);
  return number;
}

/** `https://app.example.org, http://localhost:3000` → the origins, each `scheme://host[:port]`, or `*`. */
export function parseOrigins(value: string | undefined): string[] {
  const origins = (value ?? '').split(',').map((origin) => origin.trim().replace(/\/$/, '')).filter((origin) => origin !== '');
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s?#]+$/i.test(origin)) throw new Error(`invalid CORS_ORIGINS entry: ${origin} (an origin such as https://app.example.org, no path, or *)`);
  }
  return origins.includes('*') ? ['*'] : origins.map((origin) => origin.toLowerCase());
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid PORT: ${env.PORT}`);
  const dataDir = path.resolve(env.DATA_DIR ?? './data');
  const workers = env.WORKERS === 'auto' ? os.availableParallelism() : Number(env.WORKERS ?? 1);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error(`invalid WORKERS: ${env.WORKERS} (1 to 64, or auto)`);
  return {
    workers,
    port,
    host: env.HOST ?? '127.0.0.1',
    baseUrl: (env.BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    embeddedPort: env.EMBEDDED_PG_PORT ? portOf('EMBEDDED_PG_PORT', env.EMBEDDED_PG_PORT) : undefined,
    maxBodyBytes: parseSize(env.MAX_BODY ?? '10mb'),
    maxBinaryBytes: sizeSetting('MAX_BINARY', env.MAX_BINARY, '50mb'),
    authIssuer: env.AUTH_ISSUER || undefined,
    authJwks: env.AUTH_JWKS || undefined,
    authAudience: env.AUTH_AUDIENCE || undefined,
    clientsFile: env.CLIENTS_FILE ? path.resolve(env.CLIENTS_FILE) : undefined,
    corsOrigins: parseOrigins(env.CORS_ORIGINS),
    devKeyDir: path.resolve(env.DEV_KEY_DIR ?? path.join(dataDir, 'dev-keys')),
    appDir: path.resolve(env.APP_DIR || path.join(__dirname, '..', 'dist', 'app')),
    devOutboxDir: path.resolve(env.DEV_OUTBOX_DIR ?? path.join(dataDir, 'outbox')),
    logLevel: env.LOG_LEVEL ?? 'info',
    auditVerifiers: (env.AUDIT_VERIFIERS ?? '').split(',').map((id) => id.trim()).filter((id) => id !== ''),
    notify: parseNotifySettings(env),
    accounts: {
      retentionYears: positive('RETENTION_YEARS', env.RETENTION_YEARS, 10),
      failuresPerIp: positive('AUTH_FAILURES_PER_IP', env.AUTH_FAILURES_PER_IP, 50),
      failuresPerAccount: positive('AUTH_FAILURES_PER_ACCOUNT', env.AUTH_FAILURES_PER_ACCOUNT, 10),
      rateWindowMs: 15 * 60_000,
    },
  };
}
