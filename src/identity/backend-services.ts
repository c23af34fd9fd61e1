/**
 * SMART backend services, composed (CONTRACT §8): the clients registry (CLIENTS_FILE), the
 * assertion ledger, the token endpoint with its grant table (`client_credentials` here, the
 * grants other parts pass in), discovery and the server's public keys. Built once by the
 * composition root; holds no rule of its own.
 */
import type { JSONWebKeySet } from 'jose';
import type { Executor } from '../store/executor';
import { AssertionLedger } from './assertion-ledger';
import { clientCredentialsGrant } from './client-credentials';
import { ClientRegistry } from './clients';
import type { LocalKeys } from './local-keys';
import { smartConfiguration, smartEndpoints, type SmartConfiguration } from './smart-configuration';
import { TokenEndpoint, type ExtraGrants } from './token-endpoint';

export interface BackendServicesOptions {
  /** BASE_URL (not the FHIR base): the token endpoint is `$BASE_URL/auth/token`. */
  baseUrl: string;
  clientsFile?: string;
  sql: Executor;
  localKeys: LocalKeys;
  /** Grants of other parts (src/accounts/ registers `refresh_token`). */
  grants?: ExtraGrants;
}

export interface BackendServices {
  tokenEndpoint: TokenEndpoint;
  /** `/.well-known/smart-configuration`. */
  smartConfiguration: SmartConfiguration;
  /** `/auth/jwks`: the public keys of the tokens the server issues. */
  jwks: JSONWebKeySet;
  clients: ClientRegistry;
}

export function createBackendServices(options: BackendServicesOptions): BackendServices {
  const clients = new ClientRegistry({ file: options.clientsFile });
  const tokenUrl = smartEndpoints(options.baseUrl).token;
  const tokenEndpoint = new TokenEndpoint({
    client_credentials: clientCredentialsGrant({ clients, ledger: new AssertionLedger(options.sql), localKeys: options.localKeys, tokenUrl }),
    ...options.grants,
  });
  return { tokenEndpoint, smartConfiguration: smartConfiguration(options.baseUrl, tokenEndpoint.grantTypes()), jwks: options.localKeys.publicJwks, clients };
}
