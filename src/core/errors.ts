/**
 * The error catalogue: every error tollgate throws or renders is one of these classes.
 *
 * Each class has a stable `code` (`ERR_<AREA>_<WHAT>`), the HTTP `status` the SDK answers with,
 * `expose` (whether `message` is safe to show a client) and `headers` to send with it. Foreign
 * errors (sockets, jose, openid-client, Redis) are mapped at the boundary and kept as `cause`.
 * docs/errors.md lists every code; a test keeps the two in sync.
 *
 * @see https://developer.konghq.com/gateway/ — Kong's `kong.response.exit` bodies, which these mirror
 */

/** Options every tollgate error accepts. */
export interface TollgateErrorOptions {
  /** The lower-layer error this one was mapped from. Never rendered, never logged with its stack. */
  cause?: unknown;
  /** Headers to send with the error response. */
  headers?: Record<string, string>;
}

/**
 * The base class of every error tollgate throws or renders. `Code` is the literal union of the
 * codes a class carries, so `switch (err.code)` on a narrowed error checks every case.
 */
export class TollgateError<Code extends string = string> extends Error {
  /** A stable, documented identifier (`ERR_<AREA>_<WHAT>`). */
  readonly code: Code = 'ERR_TOLLGATE' as Code;
  /** The HTTP status the SDK answers with when this error ends a request. */
  readonly status: number = 500;
  /** Whether `message` may be shown to a client. */
  readonly expose: boolean = false;
  /** Headers sent with the error response. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, options: TollgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.headers = Object.freeze({ ...(options.headers ?? {}) });
  }
}

/**
 * A developer's mistake in a plugin's options, thrown when the plugin is constructed.
 *
 * @example
 * ```ts
 * rateLimit({ minute: -1 }); // ConfigError: rateLimit: "minute" must be a positive integer, got -1
 * ```
 */
export class ConfigError extends TollgateError<'ERR_CONFIG_INVALID'> {
  override readonly code = 'ERR_CONFIG_INVALID';
  override readonly status = 500;
  override readonly expose = false;
  /** The option path the error is about, such as `minute` or `introspection.ttl`. */
  readonly option: string;

  constructor(message: string, option: string, options: TollgateErrorOptions = {}) {
    super(message, options);
    this.option = option;
  }
}

/** The client's request is malformed (400). */
export class BadRequestError extends TollgateError<'ERR_REQUEST_INVALID'> {
  override readonly code = 'ERR_REQUEST_INVALID';
  override readonly status = 400;
  override readonly expose = true;
  constructor(message = 'Bad Request', options?: TollgateErrorOptions) {
    super(message, options);
  }
}

/**
 * The codes an {@link UnauthorizedError} carries: the generic one, or the OIDC plugin's reason
 * (what metrics and traces report; the client sees the same 401 either way).
 */
export type UnauthorizedCode =
  | 'ERR_AUTH_UNAUTHORIZED'
  | 'ERR_OIDC_CREDENTIALS_MISSING'
  | 'ERR_OIDC_TOKEN_INVALID'
  | 'ERR_OIDC_TOKEN_EXPIRED'
  | 'ERR_OIDC_CLIENT_REJECTED';

/** Missing or invalid credentials (401, RFC 6750). `code` says why, when the plugin knows. */
export class UnauthorizedError extends TollgateError<UnauthorizedCode> {
  override readonly code: UnauthorizedCode;
  override readonly status = 401;
  override readonly expose = true;
  constructor(message = 'Unauthorized', options: TollgateErrorOptions & { code?: UnauthorizedCode } = {}) {
    super(message, options);
    this.code = options.code ?? 'ERR_AUTH_UNAUTHORIZED';
  }
}

/** Valid credentials without the scope, role or audience the route needs (403). */
export class ForbiddenError extends TollgateError<'ERR_AUTH_FORBIDDEN'> {
  override readonly code = 'ERR_AUTH_FORBIDDEN';
  override readonly status = 403;
  override readonly expose = true;
  constructor(message = 'Forbidden', options?: TollgateErrorOptions) {
    super(message, options);
  }
}

/** The client went over a rate limit (429 by default; `errorCode` may change the status). */
export class RateLimitError extends TollgateError<'ERR_RATE_LIMIT_EXCEEDED'> {
  override readonly code = 'ERR_RATE_LIMIT_EXCEEDED';
  override readonly status: number;
  override readonly expose = true;
  constructor(message = 'API rate limit exceeded', options: TollgateErrorOptions & { status?: number } = {}) {
    super(message, options);
    this.status = options.status ?? 429;
  }
}

/** The upstream refused, reset or answered something that is not HTTP (502). */
export class UpstreamError extends TollgateError<'ERR_UPSTREAM_BAD_RESPONSE'> {
  override readonly code = 'ERR_UPSTREAM_BAD_RESPONSE';
  override readonly status = 502;
  override readonly expose = true;
  constructor(message = 'An invalid response was received from the upstream server', options?: TollgateErrorOptions) {
    super(message, options);
  }
}

/** No upstream target is healthy (503). */
export class UpstreamUnavailableError extends TollgateError<'ERR_UPSTREAM_UNAVAILABLE'> {
  override readonly code = 'ERR_UPSTREAM_UNAVAILABLE';
  override readonly status = 503;
  override readonly expose = true;
  constructor(message = 'No healthy upstream', options?: TollgateErrorOptions) {
    super(message, options);
  }
}

/** The upstream did not answer within `readTimeout` (504). */
export class UpstreamTimeoutError extends TollgateError<'ERR_UPSTREAM_TIMEOUT'> {
  override readonly code = 'ERR_UPSTREAM_TIMEOUT';
  override readonly status = 504;
  override readonly expose = true;
  constructor(message = 'The upstream server is timing out', options?: TollgateErrorOptions) {
    super(message, options);
  }
}

/** The identity provider could not be reached or answered garbage while a request needed it (502/503). */
export class IdentityProviderError extends TollgateError<'ERR_IDP_UNAVAILABLE'> {
  override readonly code = 'ERR_IDP_UNAVAILABLE';
  override readonly status: number;
  override readonly expose = true;
  constructor(
    message = 'The identity provider is unavailable',
    options: TollgateErrorOptions & { status?: 502 | 503 } = {},
  ) {
    super(message, options);
    this.status = options.status ?? 503;
  }
}

/** A backing store (Redis) failed and the plugin is not fault tolerant (500). */
export class StoreError extends TollgateError<'ERR_STORE_UNAVAILABLE'> {
  override readonly code = 'ERR_STORE_UNAVAILABLE';
  override readonly status = 500;
  override readonly expose = false;
}

/** Anything unexpected: rendered as 500 with a generic message, never the original one. */
export class InternalError extends TollgateError<'ERR_INTERNAL_UNEXPECTED'> {
  override readonly code = 'ERR_INTERNAL_UNEXPECTED';
  override readonly status = 500;
  override readonly expose = false;
}

/**
 * Every error class in the catalogue with the code it carries; docs/errors.md documents each one.
 * @internal used by `isTollgateError` and the docs sync test
 */
export const errorCatalogue: { readonly [C in TollgateErrorCode]: abstract new (...args: never[]) => WithCode<C> } = {
  ERR_CONFIG_INVALID: ConfigError,
  ERR_REQUEST_INVALID: BadRequestError,
  ERR_AUTH_UNAUTHORIZED: UnauthorizedError,
  ERR_OIDC_CREDENTIALS_MISSING: UnauthorizedError,
  ERR_OIDC_TOKEN_INVALID: UnauthorizedError,
  ERR_OIDC_TOKEN_EXPIRED: UnauthorizedError,
  ERR_OIDC_CLIENT_REJECTED: UnauthorizedError,
  ERR_AUTH_FORBIDDEN: ForbiddenError,
  ERR_RATE_LIMIT_EXCEEDED: RateLimitError,
  ERR_UPSTREAM_BAD_RESPONSE: UpstreamError,
  ERR_UPSTREAM_UNAVAILABLE: UpstreamUnavailableError,
  ERR_UPSTREAM_TIMEOUT: UpstreamTimeoutError,
  ERR_IDP_UNAVAILABLE: IdentityProviderError,
  ERR_STORE_UNAVAILABLE: StoreError,
  ERR_INTERNAL_UNEXPECTED: InternalError,
} as const;

/**
 * Any error of the core catalogue. After `isTollgateError(err)`, `switch (err.code)` narrows `err`
 * to the class of each case.
 */
export type KnownTollgateError =
  | ConfigError
  | BadRequestError
  | UnauthorizedError
  | ForbiddenError
  | RateLimitError
  | UpstreamError
  | UpstreamUnavailableError
  | UpstreamTimeoutError
  | IdentityProviderError
  | StoreError
  | InternalError;

/** Every code of the core catalogue (docs/errors.md). */
export type TollgateErrorCode = KnownTollgateError['code'];

/** The error class whose code (or union of codes) includes `C`. */
type WithCode<C extends string> = KnownTollgateError extends infer E ? (E extends { code: infer K } ? (C extends K ? E : never) : never) : never;

/**
 * Whether `err` is an error of the core catalogue (from this copy of tollgate).
 *
 * @example
 * ```ts
 * if (isTollgateError(err)) {
 *   switch (err.code) {
 *     case 'ERR_RATE_LIMIT_EXCEEDED': retryLater(err.headers['Retry-After']); break;
 *     case 'ERR_CONFIG_INVALID': console.error(err.option); break; // err is a ConfigError here
 *   }
 * }
 * ```
 */
export function isTollgateError(err: unknown): err is KnownTollgateError {
  return err instanceof TollgateError && Object.hasOwn(errorCatalogue, err.code);
}

/** The generic message of a 500: the original message is never sent. */
export const INTERNAL_MESSAGE = 'An unexpected error occurred';

/** The status, headers and JSON body an error is rendered as. */
export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: { message: string; request_id?: string };
}

/**
 * Turns any thrown value into what the client sees: a tollgate error with `expose` keeps its
 * message, anything else becomes 500 `{"message":"An unexpected error occurred"}`.
 */
export function renderError(err: unknown, requestId?: string): RenderedError {
  const known = err instanceof TollgateError ? err : undefined;
  const status = known?.status ?? 500;
  const message = known?.expose ? known.message : status >= 500 ? INTERNAL_MESSAGE : 'Error';
  const body: RenderedError['body'] = { message };
  if (requestId) body.request_id = requestId;
  return { status, headers: { ...(known?.headers ?? {}) }, body };
}
