/**
 * SMART discovery tells the truth (CONTRACT §8): `/.well-known/smart-configuration` (at the
 * root and under /fhir) and the CapabilityStatement's `rest.security` are read, and every
 * endpoint, grant type, signing algorithm, scope and capability they claim is exercised.
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { CapabilityStatement } from 'fhir/r4';
import { BASE, get, send, startTestServer, type TestServer } from '../support/server';
import { assertion, clientKey, clientsFile, postToken, tokenForm, type ClientKey } from '../support/backend-client';
import type { SmartConfiguration } from '../../src/identity/smart-configuration';


describe('SMART discovery', () => {
  let server: TestServer;
  let registry: ReturnType<typeof clientsFile>;
  let config: SmartConfiguration;
  let capability: CapabilityStatement;
  const keys: Record<string, ClientKey> = {};

  beforeAll(async () => {
    keys.RS384 = await clientKey('RS384');
    keys.ES384 = await clientKey('ES384');
    registry = clientsFile(Object.entries(keys).map(([alg, key]) => ({ client_id: `operator-${alg}`, jwks: { keys: [key.publicJwk] }, scope: 'system/*.*' })));
    server = await startTestServer({ CLIENTS_FILE: registry.file });
    config = (await server.request.get('/.well-known/smart-configuration')).body;
    capability = (await server.request.get('/fhir/metadata')).body;
  });
  afterAll(async () => {
    await server.close();
    registry.remove();
  });

  /** A path on this server for a URL the documents claim (all are under BASE_URL). */
  const local = (url: string) => {
    expect(url.startsWith(`${BASE}/`)).toBe(true);
    return url.slice(BASE.length);
  };
  const tokenFor = async (scope: string, alg = 'ES384') => {
    const res = await server.request.post(local(config.token_endpoint)).type('form').send(tokenForm(await assertion(keys[alg], `operator-${alg}`), scope));
    expect(res.status).toBe(200);
    return res.body as { access_token: string; scope: string };
  };

  it('is served without a token at the root and under /fhir, the same document, as JSON', async () => {
    const [root, fhir] = await Promise.all([server.request.get('/.well-known/smart-configuration'), server.request.get('/fhir/.well-known/smart-configuration')]);
    expect([root.status, fhir.status]).toEqual([200, 200]);
    expect(root.headers['content-type']).toMatch(/^application\/json/);
    expect(fhir.body).toEqual(root.body);
    expect(config.issuer).toBe(BASE);
    expect(config.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt']);
  });

  it("the CapabilityStatement's rest.security names SMART-on-FHIR and the same token endpoint", () => {
    const security = capability.rest?.[0].security;
    expect(security?.service?.[0].coding?.[0]).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' });
    const uris = security?.extension?.find((extension) => extension.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    expect(uris?.extension).toEqual([{ url: 'token', valueUri: config.token_endpoint }]);
  });

  it('jwks_uri holds the keys that verify the tokens the token endpoint issues (iss = issuer)', async () => {
    const jwks = (await server.request.get(local(config.jwks_uri))).body;
    const { payload } = await jwtVerify((await tokenFor('system/*.read')).access_token, createLocalJWKSet(jwks), { issuer: config.issuer });
    expect(payload.sub).toBe('operator-ES384');
  });

  it('every signing algorithm claimed is accepted (private_key_jwt)', async () => {
    expect(config.token_endpoint_auth_signing_alg_values_supported.length).toBeGreaterThan(0);
    for (const alg of config.token_endpoint_auth_signing_alg_values_supported) {
      expect(Object.keys(keys)).toContain(alg);
      expect((await tokenFor('system/*.read', alg)).scope).toBe('system/*.read');
    }
  });

  it('every grant type claimed is answered by the token endpoint', async () => {
    expect(config.grant_types_supported).toContain('client_credentials');
    for (const grant of config.grant_types_supported) {
      const res = await postToken(server.request, { grant_type: grant });
      expect(res.body.error).not.toBe('unsupported_grant_type');
    }
  });

  /** What a token does on /fhir: search the directory (200 or 403), create an Organization (201 or 403). */
  const useOf = async (token: string) => ({
    search: (await get(server, 'Organization?_count=1', token)).status,
    create: (await send(server, 'post', 'Organization', token, { resourceType: 'Organization', name: 'Laboratoire' })).status,
  });
  /** The interactions a scope's permission names: SMART v1 words or v2 letters. */
  const lettersOf = (scope: string) => ({ read: 'rs', write: 'cud', '*': 'cruds' })[scope.split('.')[1]] ?? scope.split('.')[1];

  it('every scope claimed is granted as asked and does on /fhir what it says', async () => {
    expect(config.scopes_supported.length).toBeGreaterThan(0);
    for (const scope of config.scopes_supported) {
      const { access_token, scope: granted } = await tokenFor(scope);
      expect(granted).toBe(scope);
      const letters = lettersOf(scope);
      expect([scope, await useOf(access_token)]).toEqual([scope, { search: letters.includes('s') ? 200 : 403, create: letters.includes('c') ? 201 : 403 }]);
    }
  });

  const capabilities: Record<string, () => Promise<void>> = {
    'client-confidential-asymmetric': async () => void (await tokenFor('system/*.read', 'RS384')),
    'permission-v1': async () => expect(await useOf((await tokenFor('system/Organization.read')).access_token)).toEqual({ search: 200, create: 403 }),
    'permission-v2': async () => expect(await useOf((await tokenFor('system/Organization.cs')).access_token)).toEqual({ search: 200, create: 201 }),
  };

  it('every capability claimed is one the server has, exercised', async () => {
    for (const name of config.capabilities) {
      expect([name, typeof capabilities[name]]).toEqual([name, 'function']);
      await capabilities[name]();
    }
  });
});
