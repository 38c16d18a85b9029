/**
 * How Auth0's answers become {@link RegistrationError}s, and how long a 429 asks to wait.
 *
 * Auth0 has three error shapes: the Management API's `{statusCode, error, message, errorCode}`,
 * the token endpoint's `{error, error_description}`, and an older `{code, description}`
 * (node-auth0 normalises all three the same way). The token request goes through
 * `ClientCredentialsTokens`, which already maps openid-client's errors to tollgate's; this file
 * maps those once more to registration codes, looking through `cause` at what Auth0 said.
 *
 * @see https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy/management-api-endpoint-rate-limits
 */
import * as client from 'openid-client';
import { IdentityProviderError, UnauthorizedError } from '../core/errors';
import { RegistrationError, codeForStatus, describeAnswer, isNetworkFailure } from './errors';

/** What an Auth0 error body says, in any of its shapes. */
export interface Auth0ErrorBody {
  /** `errorCode` (`insufficient_scope`), else `error` (`Forbidden`, `access_denied`), else `code`. */
  error?: string;
  /** `message`, else `error_description`, else `description`. */
  description?: string;
}

const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 ? x : undefined);

/** Reads an Auth0 error body; anything unrecognised yields an empty description. */
export function parseAuth0Error(body: unknown): Auth0ErrorBody {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const error = str(b.errorCode) ?? str(b.error) ?? str(b.code);
  const description = str(b.message) ?? str(b.error_description) ?? str(b.description);
  return { ...(error ? { error } : {}), ...(description ? { description } : {}) };
}

/** The headers of the token endpoint's 429, when the token request was rate limited. */
export function tokenRateLimitHeaders(err: unknown): Headers | undefined {
  const inner = err instanceof IdentityProviderError ? err.cause : undefined;
  if (inner instanceof client.ResponseBodyError && inner.status === 429) return inner.response.headers;
  return undefined;
}

const TOKEN_REQUEST = 'POST /oauth/token';

/**
 * Maps a failed Management API token request (an error from `ClientCredentialsTokens`) to a
 * registration error naming the token request and what Auth0 answered.
 */
export function tokenFailure(operation: string, err: unknown, retryAfter?: number): RegistrationError {
  const base = { operation, request: TOKEN_REQUEST, cause: err };
  const inner = err instanceof UnauthorizedError || err instanceof IdentityProviderError ? err.cause : undefined;
  if (inner instanceof client.ResponseBodyError) {
    const code = codeForStatus(inner.status);
    return new RegistrationError(code, `${operation}: ${TOKEN_REQUEST} ${describeAnswer(inner.status, inner.error, inner.error_description)}`, {
      ...base,
      upstreamStatus: inner.status,
      upstreamError: inner.error,
      ...(code === 'ERR_DCR_RATE_LIMITED' && retryAfter !== undefined ? { retryAfter } : {}),
    });
  }
  if (inner instanceof client.WWWAuthenticateChallengeError) {
    const challenge = inner.cause[0]?.parameters;
    return new RegistrationError('ERR_DCR_UNAUTHORIZED', `${operation}: ${TOKEN_REQUEST} ${describeAnswer(inner.status, challenge?.error, challenge?.error_description)}`, {
      ...base,
      upstreamStatus: inner.status,
      ...(challenge?.error ? { upstreamError: challenge.error } : {}),
    });
  }
  if (err instanceof UnauthorizedError) {
    // ClientCredentialsTokens answers a recently refused client from memory, without a cause.
    return new RegistrationError('ERR_DCR_UNAUTHORIZED', `${operation}: ${TOKEN_REQUEST} was refused moments ago; the admin application's client id or secret is wrong`, base);
  }
  if (isNetworkFailure(err)) {
    return new RegistrationError('ERR_DCR_UNREACHABLE', `${operation}: ${TOKEN_REQUEST} failed: Auth0 is unreachable or did not answer in time`, base);
  }
  return new RegistrationError('ERR_DCR_REQUEST_FAILED', `${operation}: ${TOKEN_REQUEST} answered something that is not a token response`, base);
}

/** Maps a Management API refusal to a registration error naming the request and Auth0's answer. */
export function managementFailure(operation: string, request: string, status: number, body: unknown, retryAfter?: number): RegistrationError {
  const { error, description } = parseAuth0Error(body);
  const code = codeForStatus(status);
  return new RegistrationError(code, `${operation}: ${request} ${describeAnswer(status, error, description)}`, {
    operation,
    request,
    upstreamStatus: status,
    ...(error ? { upstreamError: error } : {}),
    ...(code === 'ERR_DCR_RATE_LIMITED' && retryAfter !== undefined ? { retryAfter } : {}),
  });
}
