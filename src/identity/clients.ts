/**
 * The registered system clients (CONTRACT §8): the file named by CLIENTS_FILE, a JSON list of
 * `{ client_id, name?, jwks | jwks_uri, scope, organization? }`, and the keys each client signs
 * its assertions with.
 *
 * Owns reading and checking that file (`parseClients`, also used by scripts/client-register.ts)
 * and keeping it current: the file is looked at again (its size and mtime) at most once per
 * cooldown, and re-read at once, within the same cooldown, when an unknown client_id asks. A
 * missing file is an empty registry; a file that is malformed at start fails the start, later it
 * keeps the clients read before. A client's keys: its inline `jwks`, or its `jwks_uri` fetched
 * and cached by jose, re-fetched when an assertion names a `kid` it does not hold (at most once
 * per cooldown).
 *
 * Must never accept a private key in a registration, nor a key set that fails to parse.
 */
import { promises as fs, readFileSync, statSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { parseScope } from './scopes';

export interface ClientRegistration {
  client_id: string;
  name?: string;
  jwks?: JSONWebKeySet;
  jwks_uri?: string;
  /** Space-separated SMART scopes the client may be granted (`system/…`). */
  scope: string;
  /** `Organization/O`: the client's organization (§4.3 author rule). */
  organization?: string;
}

export interface RegisteredClient {
  registration: ClientRegistration;
  /** The client's verification keys (jose key resolver). */
  keys: JWTVerifyGetKey;
}

export interface ClientRegistryOptions {
  /** CLIENTS_FILE; without it no client is registered. */
  file?: string;
  /** Minimum time between two looks at the file, and between two fetches of a jwks_uri on an unknown `kid` (default 1 s). */
  cooldownMs?: number;
}

const ORGANIZATION = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;
const CLIENT_ID = /^[A-Za-z0-9._~:\-]{1,128}$/;

/** Checks a parsed CLIENTS_FILE; throws an Error naming the first problem. */
export function parseClients(value: unknown): ClientRegistration[] {
  if (!Array.isArray(value)) throw new Error('a clients file holds a JSON list of clients');
  const seen = new Set<string>();
  return value.map((entry, index) => {
    const client = checkClient(entry, `client ${index}`);
    if (seen.has(client.client_id)) throw new Error(`client_id ${client.client_id} is registered twice`);
    seen.add(client.client_id);
    return client;
  });
}

function checkClient(entry: unknown, where: string): ClientRegistration {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${where}: not an object`);
  const { client_id, name, jwks, jwks_uri, scope, organization } = entry as Record<string, unknown>;
  if (typeof client_id !== 'string' || !CLIENT_ID.test(client_id)) throw new Error(`${where}: client_id must be 1 to 128 letters, digits or ._~:-`);
  if ((jwks === undefined) === (jwks_uri === undefined)) throw new Error(`${where}: exactly one of jwks and jwks_uri`);
  if (jwks !== undefined) checkPublicJwks(jwks, `${where} (${client_id})`);
  if (jwks_uri !== undefined && (typeof jwks_uri !== 'string' || !/^https?:\/\/\S+$/i.test(jwks_uri))) throw new Error(`${where}: jwks_uri must be an http(s) URL`);
  if (typeof scope !== 'string' || !scope.split(/\s+/).some((word) => parseScope(word)?.context === 'system')) throw new Error(`${where}: scope must name at least one system/ scope`);
  if (organization !== undefined && (typeof organization !== 'string' || !ORGANIZATION.test(organization))) throw new Error(`${where}: organization must be Organization/<id>`);
  if (name !== undefined && typeof name !== 'string') throw new Error(`${where}: name must be a string`);
  return { client_id, scope, ...(name !== undefined ? { name } : {}), ...(jwks !== undefined ? { jwks: jwks as JSONWebKeySet } : { jwks_uri: jwks_uri as string }), ...(organization ? { organization } : {}) };
}

/** A JWK set of public keys only (a private key in a registration is refused). */
export function checkPublicJwks(value: unknown, where: string): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${where}: jwks must be a JWK set with at least one key`);
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || typeof (key as { kty?: unknown }).kty !== 'string') throw new Error(`${where}: every key needs a kty`);
    if ('d' in key || 'p' in key || 'k' in key) throw new Error(`${where}: the jwks holds a private or symmetric key; register the public keys only`);
  }
  createLocalJWKSet(value as JSONWebKeySet); // jose's own check of the set's shape
  return value as JSONWebKeySet;
}

export class ClientRegistry {
  private clients = new Map<string, RegisteredClient>();
  private stamp = '';
  private lookedAt = 0;
  private readonly cooldownMs: number;

  /** Reads the file once, synchronously: a malformed file fails the start. */
  constructor(private readonly options: ClientRegistryOptions) {
    this.cooldownMs = options.cooldownMs ?? 1_000;
    if (options.file) this.load(readStamp(options.file), readClientsFile(options.file));
  }

  /** The client registered as `clientId`, after looking at the file again if it may have changed. */
  async find(clientId: string): Promise<RegisteredClient | undefined> {
    await this.refresh(false);
    if (!this.clients.has(clientId)) await this.refresh(true);
    return this.clients.get(clientId);
  }

  /** Every registered client's scopes (discovery). */
  registrations(): ClientRegistration[] {
    return [...this.clients.values()].map((client) => client.registration);
  }

  private async refresh(unknownClient: boolean): Promise<void> {
    const file = this.options.file;
    if (!file || Date.now() - this.lookedAt < this.cooldownMs) return;
    this.lookedAt = Date.now();
    try {
      const stat = await fs.stat(file).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
      const stamp = stat ? `${stat.size}:${stat.mtimeMs}` : 'missing';
      if (stamp === this.stamp && !unknownClient) return;
      this.load(stamp, stat ? parseClients(JSON.parse(await fs.readFile(file, 'utf8'))) : []);
    } catch {
      // A file being rewritten or broken: keep the clients read before.
    }
  }

  private load(stamp: string, registrations: ClientRegistration[]): void {
    const next = new Map<string, RegisteredClient>();
    for (const registration of registrations) {
      const previous = this.clients.get(registration.client_id);
      const same = previous && JSON.stringify(previous.registration) === JSON.stringify(registration);
      next.set(registration.client_id, same ? previous : { registration, keys: this.keysOf(registration) });
    }
    this.clients = next;
    this.stamp = stamp;
  }

  private keysOf(registration: ClientRegistration): JWTVerifyGetKey {
    if (registration.jwks) return createLocalJWKSet(registration.jwks);
    return createRemoteJWKSet(new URL(registration.jwks_uri as string), { cooldownDuration: this.cooldownMs, cacheMaxAge: 600_000, timeoutDuration: 5_000 });
  }
}

function readStamp(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function readClientsFile(file: string): ClientRegistration[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    return parseClients(JSON.parse(text));
  } catch (error) {
    throw new Error(`CLIENTS_FILE ${file}: ${(error as Error).message}`);
  }
}
