/**
 * The `client_credentials` grant of SMART backend services (CONTRACT §8): a registered client
 * proves itself with a JWT it signed (`private_key_jwt`, RFC 7523) and receives a short-lived
 * access token of the server carrying its granted scopes and its Organization.
 *
 * Owns the checks of the client assertion, in this order: the parameters, the algorithm
 * (RS384 or ES384, read before any key is chosen: `none`, HS256 and the rest are refused), the
 * client (`iss` = `sub` = client_id, registered), the signature against the client's keys,
 * `aud` = the token endpoint, `exp` at most 5 minutes ahead, then the `jti` in the ledger every
 * process shares; then the scopes (requested ∩ registered).
 *
 * Must never grant a scope the registration does not cover, never accept an assertion twice, and
 * never put any part of an assertion in an error.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Interaction, Scope } from '../kernel/caller';
import type { AssertionLedger } from './assertion-ledger';
import type { ClientRegistry } from './clients';
import type { LocalKeys } from './local-keys';
import { ALL_INTERACTIONS, parseScope, parseScopes } from './scopes';
import { OAuthError, type GrantHandler, type TokenParams, type TokenSuccess } from './token-endpoint';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const ASSERTION_ALGORITHMS: readonly string[] = ['RS384', 'ES384'];
/** Lifetime of an issued access token, and the longest an assertion may live ahead (seconds). */
export const ACCESS_TOKEN_SECONDS = 300;
export const MAX_ASSERTION_SECONDS = 300;

export interface ClientCredentialsOptions {
  clients: ClientRegistry;
  ledger: AssertionLedger;
  localKeys: LocalKeys;
  /** The token endpoint's URL (`$BASE_URL/auth/token`): the only `aud` accepted. */
  tokenUrl: string;
  /** Allowed clock skew in seconds for `exp`/`nbf` (default 5). */
  clockToleranceSeconds?: number;
}

export function clientCredentialsGrant(options: ClientCredentialsOptions): GrantHandler {
  const tolerance = options.clockToleranceSeconds ?? 5;
  return async (params) => {
    const { assertion, requested } = assertionParams(params);
    const clientId = claimedClient(assertion, params.client_id);
    const client = await options.clients.find(clientId);
    if (!client) throw invalidClient('the client is not registered');
    const { exp, jti } = await verifyAssertion(assertion, client.keys, clientId, options.tokenUrl, tolerance);
    if (exp - Date.now() / 1000 > MAX_ASSERTION_SECONDS + tolerance) throw invalidClient('the client assertion must expire at most 5 minutes ahead (exp)');
    if (!(await options.ledger.firstUse(clientId, jti, exp))) throw invalidClient('the client assertion was already used (jti)');
    const scope = grantedScope(requested, client.registration.scope);
    if (scope === '') throw new OAuthError('invalid_scope', 'none of the requested scopes is registered for this client');
    const organization = client.registration.organization;
    const access_token = await options.localKeys.issueToken({ sub: clientId, client_id: clientId, scope, ...(organization ? { organization } : {}) }, { expiresIn: ACCESS_TOKEN_SECONDS });
    const answer: TokenSuccess = { access_token, token_type: 'bearer', expires_in: ACCESS_TOKEN_SECONDS, scope };
    return answer;
  };
}

function assertionParams(params: TokenParams): { assertion: string; requested: string } {
  if (params.client_assertion_type !== JWT_BEARER) throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER}`);
  if (!params.client_assertion) throw new OAuthError('invalid_request', 'client_assertion is required');
  if (!params.scope || params.scope.trim() === '') throw new OAuthError('invalid_request', 'scope is required');
  return { assertion: params.client_assertion, requested: params.scope };
}

/** The client the assertion claims to be, and its algorithm, read before anything is trusted. */
function claimedClient(assertion: string, clientIdParam: string | undefined): string {
  let alg: unknown;
  let iss: unknown;
  let sub: unknown;
  try {
    alg = decodeProtectedHeader(assertion).alg;
    ({ iss, sub } = decodeJwt(assertion));
  } catch {
    throw invalidClient('the client assertion is not a JWT');
  }
  if (typeof alg !== 'string' || !ASSERTION_ALGORITHMS.includes(alg)) throw invalidClient('the client assertion must be signed with RS384 or ES384');
  if (typeof iss !== 'string' || iss === '' || sub !== iss) throw invalidClient('the client assertion needs iss = sub = the client_id');
  if (clientIdParam !== undefined && clientIdParam !== iss) throw invalidClient('client_id does not match the client assertion');
  return iss;
}

async function verifyAssertion(assertion: string, keys: JWTVerifyGetKey, clientId: string, tokenUrl: string, tolerance: number): Promise<{ exp: number; jti: string }> {
  try {
    const { payload } = await jwtVerify(assertion, keys, {
      issuer: clientId,
      subject: clientId,
      audience: tokenUrl,
      algorithms: [...ASSERTION_ALGORITHMS],
      requiredClaims: ['exp', 'jti'],
      clockTolerance: tolerance,
    });
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 255) throw invalidClient('the client assertion needs a jti of 1 to 255 characters');
    return { exp: payload.exp as number, jti: payload.jti };
  } catch (error) {
    throw error instanceof OAuthError ? error : invalidClient(reasonOf(error));
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the client assertion has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `the client assertion's "${error.claim}" claim is ${error.reason === 'missing' ? 'missing' : 'not acceptable'}${error.claim === 'aud' ? ' (it must be the token endpoint URL)' : ''}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the client assertion signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the client assertion is signed with a key the client has not registered';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'the client assertion has no "kid" and several registered keys match';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the client assertion must be signed with RS384 or ES384';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return 'the client\'s keys (jwks_uri) are unavailable';
  return 'the client assertion is invalid';
}

function invalidClient(description: string): OAuthError {
  return new OAuthError('invalid_client', description);
}

/**
 * The requested scopes cut down to the registered ones: each requested `system/` scope keeps the
 * interactions the registration covers for its type (a `*` type only by a registered `*`), as
 * written when all are covered, else as SMART v2 letters. Anything else requested is dropped.
 */
export function grantedScope(requested: string, registered: string): string {
  const allowed = parseScopes(registered).filter((scope) => scope.context === 'system');
  const granted = new Set<string>();
  for (const word of requested.split(/\s+/).filter((text) => text !== '')) {
    const scope = parseScope(word);
    if (!scope || scope.context !== 'system' || scope.interactions.size === 0) continue;
    const covered = ALL_INTERACTIONS.filter((interaction) => scope.interactions.has(interaction) && allowed.some((grant) => covers(grant, scope.resourceType, interaction)));
    if (covered.length === scope.interactions.size) granted.add(word);
    else if (covered.length > 0) granted.add(`system/${scope.resourceType}.${covered.join('')}`);
  }
  return [...granted].join(' ');
}

function covers(grant: Scope, resourceType: string, interaction: Interaction): boolean {
  return (grant.resourceType === '*' || grant.resourceType === resourceType) && grant.interactions.has(interaction);
}
