/**
 * The OAuth 2 token endpoint (`POST /auth/token`, CONTRACT §8), transport-free: the table of
 * grants (`grant_type` → handler) and the one shape of its answers — a token response, or an
 * OAuth error `{error, error_description}` with its status (RFC 6749 §5.2).
 *
 * The grants: `client_credentials` (SMART backend services, client-credentials.ts) always;
 * others are passed in by the composition root (`refresh_token`, from src/accounts/). A grant
 * handler takes the request's parameters and resolves to a token response, or throws an
 * `OAuthError` (or any error of the same shape: `error`, `description`, `status`).
 *
 * Must never answer a 500 for client input, never echo a parameter's value (an assertion, a
 * refresh token) in an error, and never let a grant type it does not know reach a handler.
 */
import { FhirError } from '../kernel/errors';

/** The request's parameters, form-encoded or JSON, each given once as a string. */
export type TokenParams = Readonly<Record<string, string>>;

/** RFC 6749 §5.1, plus what a grant adds (a patient login's `patient`, `refresh_token`…). */
export interface TokenSuccess {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  [field: string]: unknown;
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

/** A grant's refusal; the status is 400, or 401 for `invalid_client` (§8). */
export class OAuthError extends Error {
  readonly status: number;

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    status?: number,
  ) {
    super(description);
    this.status = status ?? (error === 'invalid_client' ? 401 : 400);
  }
}

/** One grant type: the parameters in, a token response out, or a thrown OAuthError. */
export type GrantHandler = (params: TokenParams) => Promise<TokenSuccess>;

/** The grants other parts may register (server.ts passes them in). */
export interface ExtraGrants {
  refresh_token?: GrantHandler;
}

/** What the http layer sends back: a status and a JSON body, always with `Cache-Control: no-store`. */
export interface TokenAnswer {
  status: number;
  body: TokenSuccess | { error: string; error_description: string };
}

const ERROR_CODES: readonly string[] = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'];

export class TokenEndpoint {
  private readonly grants: ReadonlyMap<string, GrantHandler>;

  constructor(grants: Record<string, GrantHandler | undefined>) {
    this.grants = new Map(Object.entries(grants).filter((entry): entry is [string, GrantHandler] => entry[1] !== undefined));
  }

  /** The grant types this endpoint answers (discovery's `grant_types_supported`). */
  grantTypes(): string[] {
    return [...this.grants.keys()];
  }

  /** Answers one token request; `params` undefined when the body could not be read as parameters. */
  async answer(params: TokenParams | undefined): Promise<TokenAnswer> {
    try {
      if (!params) throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded (or JSON) parameters, each given once');
      const grantType = params.grant_type;
      if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
      const grant = this.grants.get(grantType);
      if (!grant) throw new OAuthError('unsupported_grant_type', `grant_type must be one of: ${this.grantTypes().join(', ')}`);
      return { status: 200, body: await grant(params) };
    } catch (error) {
      return refusal(error);
    }
  }
}

/** An OAuth-shaped error (of this module or another part's own class), a FhirError of client input, else rethrown. */
function refusal(error: unknown): TokenAnswer {
  const shaped = error as { error?: unknown; description?: unknown; status?: unknown } | null;
  if (typeof shaped?.error === 'string' && ERROR_CODES.includes(shaped.error) && typeof shaped.description === 'string') {
    const status = typeof shaped.status === 'number' && shaped.status >= 400 && shaped.status < 500 ? shaped.status : shaped.error === 'invalid_client' ? 401 : 400;
    return { status, body: { error: shaped.error, error_description: shaped.description } };
  }
  if (error instanceof FhirError && error.status >= 400 && error.status < 500) {
    const description = error.issues[0]?.message ?? 'the request is not valid';
    return { status: 400, body: { error: 'invalid_request', error_description: description } };
  }
  throw error;
}
