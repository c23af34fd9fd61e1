/**
 * SMART discovery (CONTRACT §8): the `/.well-known/smart-configuration` document and the
 * CapabilityStatement's `rest.security` facts, built from what the token endpoint really does —
 * its grant table, the assertion algorithms it verifies, the scope grammar scopes.ts parses.
 *
 * Must never claim an endpoint, grant or capability the server does not serve (no
 * authorization_endpoint: there is no user-facing SMART launch).
 */
import { ASSERTION_ALGORITHMS } from './client-credentials';

export interface SmartConfiguration {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  scopes_supported: string[];
  capabilities: string[];
}

/** The endpoints under BASE_URL. */
export function smartEndpoints(baseUrl: string): { token: string; jwks: string } {
  return { token: `${baseUrl}/auth/token`, jwks: `${baseUrl}/auth/jwks` };
}

/**
 * `grantTypes`: the token endpoint's grant table. Capabilities: asymmetric client
 * authentication (backend services), and both scope grammars (scopes.ts reads v1 and v2).
 */
export function smartConfiguration(baseUrl: string, grantTypes: readonly string[]): SmartConfiguration {
  const endpoints = smartEndpoints(baseUrl);
  return {
    issuer: baseUrl,
    jwks_uri: endpoints.jwks,
    token_endpoint: endpoints.token,
    grant_types_supported: [...grantTypes],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    scopes_supported: ['system/*.read', 'system/*.write', 'system/*.*', 'system/*.rs', 'system/*.cruds'],
    capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
  };
}
