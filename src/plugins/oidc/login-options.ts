/**
 * The options of end-user login (`authMethods` `authorization_code` and `session`), Kong's
 * openid-connect names in camelCase, and their validation, run once when `oidc()` is constructed.
 * Kept apart from options.ts so the machine flows' options stay readable on their own.
 *
 * @see https://developer.konghq.com/plugins/openid-connect/reference/ — `redirect_uri`, `scopes`, `session_*`, `logout_*`
 */
import { ConfigError } from '../../core/errors';
import { fail, v, type Validator } from '../../core/config';
import { redisOption, type RedisConfig, type RedisOptions } from '../../stores/redis';

/** The options of browser login and sessions; part of `OidcOptions`. */
export interface OidcLoginOptions {
  /** The web application's client id at the identity provider (Auth0: a Regular Web Application). Required with `authorization_code` or `session`. */
  clientId?: string;
  /** The web application's client secret. Required with `authorization_code` or `session`; never kept in `plugin.config`. */
  clientSecret?: string;
  /** The absolute callback URL registered at the identity provider; its path, under the gateway's mount, is the callback tollgate answers. Required with `authorization_code`. */
  redirectUri?: string;
  /** Scopes requested at login; must hold `openid` (add `offline_access` for refresh tokens). @defaultValue `['openid']` */
  scopes?: string[];
  /** Extra arguments of the authorization request: Auth0's `{ audience: 'https://api.example.com' }`, `prompt`, … @defaultValue {} */
  authorizationQueryArgs?: Record<string, string>;
  /** At least 32 characters, or a list of them: the first encrypts, all decrypt (rotation without logging everyone out). Required with `session`. */
  sessionSecret?: string | string[];
  /** The session cookie's name; `__Host-` is put in front of it over https. @defaultValue `'session'` */
  sessionCookieName?: string;
  /** Seconds without a request after which a session ends; 0 = off. @defaultValue 900 */
  sessionIdlingTimeout?: number;
  /** Seconds a session stays valid unless renewed (an active session is renewed once half of it has passed); 0 = off. @defaultValue 3600 */
  sessionRollingTimeout?: number;
  /** Seconds after login when a session ends whatever happens; 0 = off. @defaultValue 86400 */
  sessionAbsoluteTimeout?: number;
  /** Where sessions live: an encrypted cookie, or Redis with only a random id in the cookie. @defaultValue `'cookie'` */
  sessionStorage?: 'cookie' | 'redis';
  /** The Redis connection for `sessionStorage: 'redis'`. */
  redis?: RedisOptions;
  /** A request path (as the client sends it) that logs out, with one of `logoutMethods`. @defaultValue none */
  logoutUri?: string;
  /** The methods that log out at `logoutUri`. @defaultValue `['POST', 'DELETE']` */
  logoutMethods?: ('GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE')[];
  /** Revoke the refresh and access tokens at the identity provider on logout (RFC 7009). @defaultValue false */
  logoutRevoke?: boolean;
  /** Where the identity provider sends the browser after logout (`post_logout_redirect_uri`, Auth0's `returnTo`); must be registered there. @defaultValue none */
  logoutRedirectUri?: string;
  /** Where the browser goes after login, instead of back to the page it first asked for: an absolute URL or a path. @defaultValue the page first asked for */
  loginRedirectUri?: string;
  /** Refresh an expired access token with the session's refresh token. @defaultValue true */
  refreshTokens?: boolean;
  /** **tollgate addition**, a test seam: the clock of sessions and token expiry, in epoch milliseconds. @defaultValue `Date.now` */
  now?: () => number;
}

/** The resolved login settings: what `plugin.config.login` shows (no secret, no Redis client). */
export interface OidcLoginConfig {
  readonly clientId: string;
  /** Undefined on a route that only reads sessions (`session` without `authorization_code`). */
  readonly redirectUri?: string;
  /** The path of `redirectUri`. */
  readonly redirectPath?: string;
  readonly scopes: readonly string[];
  readonly authorizationQueryArgs: Readonly<Record<string, string>>;
  readonly sessionCookieName: string;
  readonly sessionIdlingTimeout: number;
  readonly sessionRollingTimeout: number;
  readonly sessionAbsoluteTimeout: number;
  readonly sessionStorage: 'cookie' | 'redis';
  readonly logoutUri?: string;
  readonly logoutMethods: readonly string[];
  readonly logoutRevoke: boolean;
  readonly logoutRedirectUri?: string;
  readonly loginRedirectUri?: string;
  readonly refreshTokens: boolean;
}

/** What login needs that must never be shown in `plugin.config`. */
export interface OidcLoginSecrets {
  readonly clientSecret: string;
  readonly sessionSecrets: readonly string[];
  readonly redis?: RedisConfig;
  readonly now: () => number;
}

const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Arguments the plugin sets itself; `authorizationQueryArgs` cannot override them. */
const RESERVED_ARGS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method'];
const MIN_SECRET = 32;

/** A session secret or a list of them; never quoted in an error (`fail` with quote off). */
const sessionSecret: Validator<string | string[]> = {
  expected: `a string of at least ${MIN_SECRET} characters or a non-empty array of them`,
  optional: false,
  quote: false,
  check(value, path, where) {
    const ok = (s: unknown) => typeof s === 'string' && s.length >= MIN_SECRET;
    if (ok(value) || (Array.isArray(value) && value.length > 0 && value.every(ok))) return value as string | string[];
    return fail(where, path, this.expected, value, false);
  },
};

/** The validators of the login options, spread into the `oidc` shape. */
export const loginShape = {
  clientId: v.optional(v.string()),
  clientSecret: v.optional(v.secret()),
  redirectUri: v.optional(v.url()),
  scopes: v.optional(v.array(v.string(), { minLength: 1 }), () => ['openid']),
  authorizationQueryArgs: v.optional(v.record(v.string({ allowEmpty: true })), () => ({})),
  sessionSecret: v.optional(sessionSecret),
  sessionCookieName: v.optional(v.string(), 'session'),
  sessionIdlingTimeout: v.optional(v.integer({ min: 0 }), 900),
  sessionRollingTimeout: v.optional(v.integer({ min: 0 }), 3600),
  sessionAbsoluteTimeout: v.optional(v.integer({ min: 0 }), 86_400),
  sessionStorage: v.optional(v.oneOf(['cookie', 'redis'] as const), 'cookie'),
  redis: v.optional(redisOption()),
  logoutUri: v.optional(v.string()),
  logoutMethods: v.optional(v.array(v.oneOf(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const), { minLength: 1 }), () => ['POST' as const, 'DELETE' as const]),
  logoutRevoke: v.optional(v.boolean(), false),
  logoutRedirectUri: v.optional(v.url()),
  loginRedirectUri: v.optional(v.string()),
  refreshTokens: v.optional(v.boolean(), true),
  now: v.optional(v.clock()),
};

/** The parsed login options, as `parseShape` returns them. */
interface ParsedLogin {
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  scopes: string[];
  authorizationQueryArgs: Record<string, string>;
  sessionSecret?: string | string[];
  sessionCookieName: string;
  sessionIdlingTimeout: number;
  sessionRollingTimeout: number;
  sessionAbsoluteTimeout: number;
  sessionStorage: 'cookie' | 'redis';
  redis?: RedisConfig;
  logoutUri?: string;
  logoutMethods: string[];
  logoutRevoke: boolean;
  logoutRedirectUri?: string;
  loginRedirectUri?: string;
  refreshTokens: boolean;
  now?: () => number;
}

const LOGIN_ONLY = ['clientId', 'clientSecret', 'redirectUri', 'sessionSecret', 'redis', 'logoutUri', 'logoutRedirectUri', 'loginRedirectUri'] as const;

/**
 * Resolves the login options once `authMethods` is known.
 *
 * @returns nothing when neither `authorization_code` nor `session` is enabled.
 * @throws ConfigError naming the option, for a missing or wrong value or a wrong combination.
 */
export function resolveLogin(o: ParsedLogin, authMethods: readonly string[]): { login: OidcLoginConfig; secrets: OidcLoginSecrets } | undefined {
  const code = authMethods.includes('authorization_code');
  const session = authMethods.includes('session');
  if (!code && !session) {
    for (const key of LOGIN_ONLY) {
      if (o[key] !== undefined) throw new ConfigError(`oidc: "${key}" is set but authMethods includes neither "authorization_code" nor "session"`, key);
    }
    return undefined;
  }
  if (code && !session) {
    throw new ConfigError('oidc: "authMethods" with "authorization_code" must also include "session": the login is kept in a session', 'authMethods');
  }
  const required = (key: 'clientId' | 'clientSecret' | 'sessionSecret' | 'redirectUri', why: string) => {
    if (o[key] === undefined) throw new ConfigError(`oidc: "${key}" is required when authMethods includes ${why}`, key);
  };
  required('clientId', '"session" (the web application at the identity provider)');
  required('clientSecret', '"session" (the web application at the identity provider)');
  required('sessionSecret', '"session"');
  if (code) required('redirectUri', '"authorization_code"');
  else if (o.redirectUri !== undefined) throw new ConfigError('oidc: "redirectUri" is set but authMethods does not include "authorization_code"', 'redirectUri');

  if (!o.scopes.includes('openid')) throw new ConfigError(`oidc: "scopes" must include "openid", got ${JSON.stringify(o.scopes)}`, 'scopes');
  for (const name of RESERVED_ARGS) {
    if (name in o.authorizationQueryArgs) {
      throw new ConfigError(`oidc: "authorizationQueryArgs.${name}" is set by the plugin and cannot be overridden${name === 'scope' ? ' (use "scopes")' : ''}`, `authorizationQueryArgs.${name}`);
    }
  }
  const name = o.sessionCookieName;
  if (!COOKIE_NAME.test(name) || /^__(host|secure)-/i.test(name) || /\.\d+$/.test(name)) {
    throw new ConfigError(
      `oidc: "sessionCookieName" must be a cookie name without a __Host-/__Secure- prefix (added over https) and not ending in .<digits> (used for chunks), got ${JSON.stringify(name)}`,
      'sessionCookieName',
    );
  }
  if (o.sessionIdlingTimeout === 0 && o.sessionRollingTimeout === 0 && o.sessionAbsoluteTimeout === 0) {
    throw new ConfigError('oidc: "sessionAbsoluteTimeout" must be positive when the idling and rolling timeouts are off: a session must end some time', 'sessionAbsoluteTimeout');
  }
  if (o.sessionStorage === 'redis' && o.redis === undefined) throw new ConfigError('oidc: "redis" is required when sessionStorage is "redis"', 'redis');
  if (o.sessionStorage !== 'redis' && o.redis !== undefined) throw new ConfigError('oidc: "redis" is set but sessionStorage is not "redis"', 'redis');
  if (o.logoutUri !== undefined && (!o.logoutUri.startsWith('/') || /[?#\s]/.test(o.logoutUri))) {
    throw new ConfigError(`oidc: "logoutUri" must be a request path starting with "/" (no query), got ${JSON.stringify(o.logoutUri)}`, 'logoutUri');
  }
  if (o.loginRedirectUri !== undefined && !isRedirectTarget(o.loginRedirectUri)) {
    throw new ConfigError(`oidc: "loginRedirectUri" must be an absolute http(s) URL or a path starting with a single "/", got ${JSON.stringify(o.loginRedirectUri)}`, 'loginRedirectUri');
  }
  const redirectPath = o.redirectUri === undefined ? undefined : new URL(o.redirectUri).pathname;
  if (redirectPath !== undefined && redirectPath === o.logoutUri) throw new ConfigError('oidc: "logoutUri" must differ from the path of "redirectUri"', 'logoutUri');
  const secrets = typeof o.sessionSecret === 'string' ? [o.sessionSecret] : [...o.sessionSecret!];
  const login: OidcLoginConfig = {
    clientId: o.clientId!,
    ...(o.redirectUri !== undefined ? { redirectUri: o.redirectUri, redirectPath } : {}),
    scopes: [...new Set(o.scopes)],
    authorizationQueryArgs: o.authorizationQueryArgs,
    sessionCookieName: name,
    sessionIdlingTimeout: o.sessionIdlingTimeout,
    sessionRollingTimeout: o.sessionRollingTimeout,
    sessionAbsoluteTimeout: o.sessionAbsoluteTimeout,
    sessionStorage: o.sessionStorage,
    ...(o.logoutUri !== undefined ? { logoutUri: o.logoutUri } : {}),
    logoutMethods: [...new Set(o.logoutMethods)],
    logoutRevoke: o.logoutRevoke,
    ...(o.logoutRedirectUri !== undefined ? { logoutRedirectUri: o.logoutRedirectUri } : {}),
    ...(o.loginRedirectUri !== undefined ? { loginRedirectUri: o.loginRedirectUri } : {}),
    refreshTokens: o.refreshTokens,
  };
  return {
    login,
    secrets: { clientSecret: o.clientSecret!, sessionSecrets: secrets, ...(o.redis ? { redis: o.redis } : {}), now: o.now ?? Date.now },
  };
}

/** An absolute http(s) URL, or a path with one leading slash (never `//host`, an open redirect). */
function isRedirectTarget(value: string): boolean {
  if (/^\/(?![/\\])/.test(value)) return true;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
