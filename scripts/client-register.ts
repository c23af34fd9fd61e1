/**
 * Registers a system client of the token endpoint (CONTRACT §8) in CLIENTS_FILE, which the
 * server re-reads on its own (no restart):
 *
 *   CLIENTS_FILE=./data/clients.json npm run client:register -- --id lab-1 \
 *     --jwks ./lab.jwks.json --scope "system/DocumentReference.write system/Binary.write system/Patient.read" \
 *     --organization Organization/O
 *
 * Options:
 *   --id <client_id>        the client's id (its assertions' iss and sub); default: --name made an id
 *   --name <text>           a human name for the client
 *   --jwks <file>           the client's PUBLIC keys (a JWK set), copied into the registration
 *   --jwks-uri <url>        or: where the client publishes them (fetched, refreshed on an unknown kid)
 *   --scope "<scopes>"      the system/ scopes the client may be granted
 *   --organization <ref>    Organization/<id>: the client's organization (§4.3 author rule)
 *   --file <path>           the clients file (default CLIENTS_FILE)
 * A client already registered under the id is replaced. A key set holding a private key is
 * refused. The file is written whole, aside then renamed, so the server never reads half of it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkPublicJwks, parseClients, type ClientRegistration } from '../src/identity/clients';

const USAGE = 'usage: npm run client:register -- --id CLIENT_ID (--jwks FILE | --jwks-uri URL) --scope "SCOPES" [--name NAME] [--organization Organization/ID] [--file CLIENTS_FILE]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function idOf(name: string): string {
  return name.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function registrationFrom(argv: string[]): Promise<{ file: string; client: ClientRegistration }> {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      jwks: { type: 'string' },
      'jwks-uri': { type: 'string' },
      scope: { type: 'string' },
      organization: { type: 'string' },
      file: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const file = values.file ?? process.env.CLIENTS_FILE;
  if (!file) fail('set CLIENTS_FILE (the file the server reads) or pass --file');
  const clientId = values.id ?? (values.name ? idOf(values.name) : '');
  if (!clientId) fail('--id (or --name) is required');
  if (!values.scope) fail('--scope is required');
  if ((values.jwks === undefined) === (values['jwks-uri'] === undefined)) fail('exactly one of --jwks FILE and --jwks-uri URL');
  const keys = values.jwks !== undefined ? { jwks: checkPublicJwks(JSON.parse(await fs.readFile(values.jwks, 'utf8')), values.jwks) } : { jwks_uri: values['jwks-uri'] as string };
  const client: ClientRegistration = {
    client_id: clientId,
    ...(values.name ? { name: values.name } : {}),
    ...keys,
    scope: values.scope.trim().split(/\s+/).join(' '),
    ...(values.organization ? { organization: values.organization } : {}),
  };
  return { file: path.resolve(file), client };
}

async function readClients(file: string): Promise<ClientRegistration[]> {
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '[]' : Promise.reject(error)));
  return parseClients(JSON.parse(text));
}

async function main(): Promise<void> {
  const { file, client } = await registrationFrom(process.argv.slice(2));
  const others = (await readClients(file)).filter((existing) => existing.client_id !== client.client_id);
  const clients = parseClients([...others, client]); // the same checks the server makes
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, JSON.stringify(clients, null, 2) + '\n', { mode: 0o644 });
  await fs.rename(temp, file);
  process.stdout.write(`registered ${client.client_id} in ${file} (${clients.length} client${clients.length === 1 ? '' : 's'})\n`);
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
