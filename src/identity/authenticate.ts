/**
 * The identity entry point for the http layer: one call turns the
 * `Authorization` header of a request into a Caller (verify the token, then
 * resolve who is calling). Wires tokens.ts, local-keys.ts, resolve.ts and
 * lookup.ts from the configuration.
 *
 * Call `authenticate` once per HTTP request and keep the Caller on the
 * request; it throws FhirError 401 (token) or 403 (caller). Must never log a
 * token.
 */
import type { JWTPayload } from 'jose';
import type { Config } from '../config';
import type { Executor } from '../store/executor';
import type { Caller } from '../kernel/caller';
import { loadLocalKeys, localIssuerOf, type LocalKeys } from './local-keys';
import { createCallerLookup } from './lookup';
import type { RoleCache } from './role-cache';
import { ResolvedCallers, resolveCaller, type CallerLookup } from './resolve';
import { createTokenVerifier, type TokenVerifier } from './tokens';

export interface Identity {
  /** Verifies the bearer token and resolves the caller (401 / 403 as FhirError). */
  authenticate(authorization: string | undefined): Promise<Caller>;
  /** Verifies the bearer token only (e.g. /account routes that need just `fhirUser`). */
  verify(authorization: string | undefined): Promise<JWTPayload>;
  /** The server's own signing key: issues patient-login tokens, publishes the public JWKS. */
  localKeys: LocalKeys;
}

/** `fhirBase`: this server's FHIR base (`$BASE_URL/fhir`), the only base an absolute `fhirUser` may name. */
export function identityFrom(verifier: TokenVerifier, lookup: CallerLookup, localKeys: LocalKeys, fhirBase: string): Identity {
  const resolved = new ResolvedCallers();
  return {
    authenticate: async (authorization) => resolveCaller(await verifier.verify(authorization), lookup, { fhirBase, localIssuer: localKeys.issuer, resolved }),
    verify: (authorization) => verifier.verify(authorization),
    localKeys,
  };
}

/** `roles` caches practitioners' roles across requests (role-cache.ts); without it every request reads them. */
export async function createIdentity(config: Pick<Config, 'baseUrl' | 'devKeyDir' | 'authIssuer' | 'authJwks' | 'authAudience'>, sql: Executor, roles?: RoleCache): Promise<Identity> {
  const localKeys = await loadLocalKeys({ dir: config.devKeyDir, issuer: localIssuerOf(config) });
  const verifier = createTokenVerifier({
    issuer: config.authIssuer,
    jwks: config.authJwks,
    audience: config.authAudience,
    localIssuer: localKeys.issuer,
    localKeys: localKeys.publicJwks,
  });
  const lookup = createCallerLookup(sql);
  return identityFrom(verifier, roles ? roles.wrap(lookup) : lookup, localKeys, `${config.baseUrl}/fhir`);
}
