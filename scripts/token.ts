/**
 * Mints a development token signed with the server's own key (DEV_KEY_DIR,
 * generated on first use), which the server trusts as its own issuer
 * (`iss` = BASE_URL). Prints only the token on stdout, so:
 *
 *   TOKEN=$(npm run -s token -- --system my-lab)
 *   curl -H "Authorization: Bearer $TOKEN" http://localhost:8080/fhir/Patient
 *
 * Exactly one of:
 *   --patient <id>          fhirUser Patient/<id>         default scope "patient/*.cruds"
 *   --related-person <id>   fhirUser RelatedPerson/<id>   default scope "patient/*.cruds"
 *                           (the server checks RelatedPerson/<id> is a legal representative)
 *   --practitioner <id>     fhirUser Practitioner/<id>    default scope "user/*.cruds"
 *   --system <client-id>    no fhirUser, sub = client id  default scope "system/*.cruds" (an operator)
 * Options:
 *   --scope "<scopes>"      space-separated SMART scopes, replacing the default
 *   --expires <span>        lifetime: seconds or 30m, 1h, 7d… (default 1h)
 *   --help
 * Reads the same environment as the server (BASE_URL / PORT, DATA_DIR,
 * DEV_KEY_DIR): run it with the settings the server runs with.
 * Never writes the token anywhere but stdout.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { loadLocalKeys, localIssuerOf, type IssuedClaims } from '../src/identity/local-keys';

const KINDS = {
  patient: { resourceType: 'Patient', scope: 'patient/*.cruds' },
  'related-person': { resourceType: 'RelatedPerson', scope: 'patient/*.cruds' },
  practitioner: { resourceType: 'Practitioner', scope: 'user/*.cruds' },
  system: { resourceType: undefined, scope: 'system/*.cruds' },
} as const;
type Kind = keyof typeof KINDS;

const USAGE = `usage: npm run -s token -- (--patient ID | --related-person ID | --practitioner ID | --system CLIENT_ID) [--scope "SCOPES"] [--expires 1h]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function claimsFrom(argv: string[]): { claims: IssuedClaims; expires: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      patient: { type: 'string' },
      'related-person': { type: 'string' },
      practitioner: { type: 'string' },
      system: { type: 'string' },
      scope: { type: 'string' },
      expires: { type: 'string', default: '1h' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const chosen = (Object.keys(KINDS) as Kind[]).filter((kind) => values[kind] !== undefined);
  if (chosen.length !== 1) fail('give exactly one of --patient, --related-person, --practitioner, --system');
  const kind = chosen[0];
  const id = values[kind] as string;
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) fail(`invalid id: ${id}`);
  if (!/^(\d+|\d+[smhdw])$/.test(values.expires)) fail(`invalid --expires: ${values.expires}`);
  const { resourceType, scope } = KINDS[kind];
  const claims: IssuedClaims = resourceType
    ? { sub: `${resourceType}/${id}`, fhirUser: `${resourceType}/${id}`, scope: values.scope ?? scope }
    : { sub: id, scope: values.scope ?? scope };
  return { claims, expires: values.expires };
}

async function main(): Promise<void> {
  let parsed: { claims: IssuedClaims; expires: string };
  try {
    parsed = claimsFrom(process.argv.slice(2));
  } catch (error) {
    fail((error as Error).message);
  }
  const config = loadConfig();
  const keys = await loadLocalKeys({ dir: config.devKeyDir, issuer: localIssuerOf(config) });
  const expiresIn = /^\d+$/.test(parsed.expires) ? Number(parsed.expires) : parsed.expires;
  process.stdout.write(`${await keys.issueToken(parsed.claims, { expiresIn })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`token: ${(error as Error).message}\n`);
  process.exit(1);
});
