/**
 * The one error class application registration throws, with a stable `code` per kind of failure.
 *
 * A registrar talks to an identity provider on behalf of the service's own developer portal, so
 * most failures are the operator's to fix (a missing Management API permission, a wrong admin
 * secret) and are not exposed to whoever called the portal. Messages name the registrar method,
 * the request and what the provider answered; they never carry a secret or a token — the admin
 * application's secret and the Management API token are never put in a message, and responses
 * that hold a new application's secret are never quoted.
 *
 * @see https://auth0.com/docs/api/management/v2 — the Management API's error shape
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2 — RFC 7591 error responses
 */
import { TollgateError, type TollgateErrorOptions } from '../core/errors';

/** The codes a {@link RegistrationError} carries; docs/dcr.md documents each one. */
export const registrationErrorCodes = {
  /** The arguments of `register()` / `rotateSecret()` / `remove()` are unusable; nothing was sent (400). */
  ERR_DCR_INVALID_REQUEST: 400,
  /** The provider refused the admin credentials or the Management API token (401 upstream). */
  ERR_DCR_UNAUTHORIZED: 502,
  /** The admin application lacks a permission (403 `insufficient_scope`), or a tenant limit was hit. */
  ERR_DCR_FORBIDDEN: 502,
  /** The application to rotate or remove does not exist (404 upstream). */
  ERR_DCR_NOT_FOUND: 404,
  /** Still rate limited after the bounded retries, or asked to wait longer than allowed (429 upstream). */
  ERR_DCR_RATE_LIMITED: 503,
  /** The provider could not be reached or did not answer in time. */
  ERR_DCR_UNREACHABLE: 503,
  /** Any other refusal (400, 409, 5xx) or an answer that could not be understood. */
  ERR_DCR_REQUEST_FAILED: 502,
} as const;

/** A stable identifier of what kind of registration failure happened. */
export type RegistrationErrorCode = keyof typeof registrationErrorCodes;

/** What a {@link RegistrationError} records about the failed exchange. */
export interface RegistrationErrorOptions extends TollgateErrorOptions {
  /** The registrar method that failed, e.g. `auth0Registrar.register`. */
  operation: string;
  /** The request that failed, e.g. `POST /api/v2/clients`. */
  request?: string;
  /** The HTTP status the provider answered. */
  upstreamStatus?: number;
  /** The provider's error identifier (`errorCode` / `error`), e.g. `insufficient_scope`. */
  upstreamError?: string;
  /** Seconds the provider asked to wait before trying again. */
  retryAfter?: number;
  /** An application that was created but could not be deleted after a later step failed. */
  orphanedClientId?: string;
}

/**
 * A registration, secret rotation or removal failed; `code` says why and `message` names the request.
 *
 * @example
 * ```ts
 * try {
 *   await registrar.register({ name: 'Acme billing' });
 * } catch (err) {
 *   if (err instanceof RegistrationError && err.code === 'ERR_DCR_FORBIDDEN') alertOperator(err.message);
 *   // auth0Registrar.register: POST /api/v2/clients answered 403 (insufficient_scope: Insufficient scope, expected any of: create:clients)
 * }
 * ```
 */
export class RegistrationError extends TollgateError<RegistrationErrorCode> {
  override readonly code: RegistrationErrorCode;
  override readonly status: number;
  override readonly expose: boolean;
  /** The registrar method that failed. */
  readonly operation: string;
  /** The request that failed, when one was sent. */
  readonly request?: string;
  /** The HTTP status the provider answered, when it answered. */
  readonly upstreamStatus?: number;
  /** The provider's error identifier, when it gave one. */
  readonly upstreamError?: string;
  /** Seconds the provider asked to wait, for a rate-limited request. */
  readonly retryAfter?: number;
  /** The id of an application left behind because its cleanup failed too. */
  readonly orphanedClientId?: string;

  constructor(code: RegistrationErrorCode, message: string, options: RegistrationErrorOptions) {
    const headers = options.retryAfter !== undefined ? { 'Retry-After': String(options.retryAfter), ...options.headers } : options.headers;
    super(message, { cause: options.cause, ...(headers ? { headers } : {}) });
    this.code = code;
    this.status = registrationErrorCodes[code];
    // Only the caller's own mistake is worth telling the caller; the rest is for the operator.
    this.expose = code === 'ERR_DCR_INVALID_REQUEST';
    this.operation = options.operation;
    if (options.request !== undefined) this.request = options.request;
    if (options.upstreamStatus !== undefined) this.upstreamStatus = options.upstreamStatus;
    if (options.upstreamError !== undefined) this.upstreamError = options.upstreamError;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
    if (options.orphanedClientId !== undefined) this.orphanedClientId = options.orphanedClientId;
  }
}

/** The code for a provider's HTTP refusal. */
export function codeForStatus(status: number): RegistrationErrorCode {
  if (status === 401) return 'ERR_DCR_UNAUTHORIZED';
  if (status === 403) return 'ERR_DCR_FORBIDDEN';
  if (status === 404) return 'ERR_DCR_NOT_FOUND';
  if (status === 429) return 'ERR_DCR_RATE_LIMITED';
  return 'ERR_DCR_REQUEST_FAILED';
}

/** Shortens provider text for a message: one line, at most 300 characters. */
export function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** `403 (insufficient_scope: Insufficient scope, …)` — the provider's answer, as a message names it. */
export function describeAnswer(status: number, error?: string, description?: string): string {
  const detail = [error, description].filter((x): x is string => typeof x === 'string' && x.length > 0).map(clip);
  return `answered ${status}${detail.length ? ` (${detail.join(': ')})` : ''}`;
}

/**
 * Whether an error (or one of its causes) means the provider could not be reached or timed out.
 * Compared by name and code, not `instanceof`: fetch's `TypeError` comes from another realm under
 * jest, and openid-client then wraps it in a `ClientError` ("something went wrong").
 */
export function isNetworkFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, message, code } = e as { name?: unknown; message?: unknown; code?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') return true;
    if (name === 'TypeError' && message === 'fetch failed') return true;
  }
  return false;
}
