/**
 * The OIDC plugin's options (Kong's openid-connect and oauth2-introspection names in camelCase),
 * their defaults and their validation, run once when the plugin is constructed.
 *
 * @see https://developer.konghq.com/plugins/openid-connect/reference/
 * @see https://developer.konghq.com/plugins/oauth2-introspection/reference/
 */
import { ConfigError } from '../../core/errors';
import type { LoggerOption } from '../../core/logger';
import { deepFreeze, parseShape, v, type Where } from '../../core/config';
import { isConsumerField, isConsumerRegistry, type ConsumerField, type ConsumerRegistry } from '../../core/consumers';
import { loginShape, resolveLogin, type OidcLoginConfig, type OidcLoginOptions, type OidcLoginSecrets } from './login-options';

/** How a request may authenticate (`authorization_code` and `session`: end-user login, see login-options.ts). */
export type OidcAuthMethod = 'bearer' | 'client_credentials' | 'introspection' | 'authorization_code' | 'session';

/** Where a credential may be read from. */
export type OidcParamType = 'header' | 'query' | 'body';

/** Options of the RFC 7662 introspection call (Kong's oauth2-introspection). */
export interface OidcIntrospectionOptions {
  /** Sent verbatim as the `Authorization` header of the introspection call (`Basic …`). Either this or `clientId` + `clientSecret`. */
  authorizationValue?: string;
  /** The gateway's client id at the introspection endpoint (sent as HTTP Basic with `clientSecret`). */
  clientId?: string;
  /** The gateway's client secret at the introspection endpoint. */
  clientSecret?: string;
  /** Seconds an introspection result (active or not) is cached, keyed by a hash of the token; 0 = not cached. @defaultValue 30 */
  ttl?: number;
  /** Claims of the introspection result forwarded upstream as `X-Credential-<claim>`. @defaultValue [] */
  customClaimsForward?: string[];
  /** The `token_type_hint` sent. @defaultValue `'access_token'` */
  tokenTypeHint?: string;
}

/** What `oidc()` accepts. Only `issuer` is required (and the login options with `authorization_code` / `session`). */
export interface OidcOptions extends OidcLoginOptions, LoggerOption {
  /** The issuer identifier (Auth0's ends with `/`) or its `.well-known/openid-configuration` URL. */
  issuer: string;
  /** How requests may authenticate. @defaultValue `['bearer']` */
  authMethods?: OidcAuthMethod[];
  /**
   * A token passes only if its `aud` holds one of these (otherwise 401 `invalid_token`). Required
   * when `authMethods` holds `bearer` or `introspection`: without it every token the issuer signs,
   * for any of its APIs, would pass. `false` says explicitly that any audience is accepted.
   * Not required for `client_credentials` alone, whose tokens come from the token endpoint itself.
   *
   * @defaultValue none: a `ConfigError` names it unless set (or `false`)
   * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 — the resource server validates `aud`
   */
  audience?: string | string[] | false;
  /** Kong's `audience_required`: alternatives, each a space-separated list that must all be in `aud` (otherwise 403). @defaultValue none */
  audienceRequired?: string[];
  /** Kong's `scopes_required`: the token passes if it has all scopes of any one entry (`['read write', 'admin']`), otherwise 403. @defaultValue none */
  scopesRequired?: string[];
  /** The claim holding scopes: a name, or a path of names into nested objects. @defaultValue `'scope'` (Auth0 RBAC: `'permissions'`) */
  scopesClaim?: string | string[];
  /** Kong's `roles_required`, with the same any-of-entries rule as `scopesRequired`. @defaultValue none */
  rolesRequired?: string[];
  /** The claim holding roles: a name, or a path into nested objects. @defaultValue `'roles'` */
  rolesClaim?: string | string[];
  /** Claims naming the consumer, the first present wins (Auth0: `azp`; RFC 9068: `client_id`). @defaultValue `['azp', 'client_id', 'sub']` */
  consumerClaim?: string | string[];
  /**
   * Registered consumers (`consumers([...])`): the consumer claim's value is looked up among them by
   * `consumerBy` and the request gets that consumer (Kong's consumer mapping), with
   * `X-Consumer-ID`, `X-Consumer-Custom-ID` and `X-Consumer-Username` sent upstream. A token that
   * maps to no consumer is refused with 403 unless `consumerOptional`.
   * @defaultValue none: the claim's value is the consumer id
   */
  consumers?: ConsumerRegistry;
  /** Kong's `consumer_by`: the consumer fields compared with the claim's value, in order. Only with `consumers`. @defaultValue `['custom_id', 'username']` */
  consumerBy?: ConsumerField[];
  /** Kong's `consumer_optional`: a token that maps to no consumer goes on without one instead of 403. Only with `consumers`. @defaultValue false */
  consumerOptional?: boolean;
  /** The claim identifying the credential (Kong's `credential_claim`). @defaultValue `'sub'` */
  credentialClaim?: string;
  /** Claims forwarded upstream, one header per claim, named by `upstreamHeadersNames` (same order). @defaultValue [] */
  upstreamHeadersClaims?: string[];
  /** The header names for `upstreamHeadersClaims`. @defaultValue [] */
  upstreamHeadersNames?: string[];
  /** Extra form arguments for the token endpoint (`{ audience: 'https://api.example.com' }` for Auth0). @defaultValue {} */
  tokenPostArgs?: Record<string, string>;
  /** How the plugin authenticates the client at the token endpoint. @defaultValue `'client_secret_post'` (Auth0's) */
  tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  /** RFC 7662 introspection settings; required when `authMethods` holds `introspection`. */
  introspection?: OidcIntrospectionOptions;
  /** Overrides the discovered token endpoint. @defaultValue from discovery */
  tokenEndpoint?: string;
  /** Overrides the discovered introspection endpoint. @defaultValue from discovery */
  introspectionEndpoint?: string;
  /** Overrides the discovered JWKS URL. @defaultValue from discovery */
  jwksEndpoint?: string;
  /** Seconds of clock skew tolerated on `exp` and `nbf`. @defaultValue 0 (Kong's) */
  leeway?: number;
  /** Seconds after which the issuer's keys are refreshed; also the longest a verified token is remembered unverified. @defaultValue 900 */
  jwksRefreshInterval?: number;
  /** Least seconds between two key refetches caused by an unknown `kid` (Kong's `rediscovery_lifetime`). @defaultValue 30 */
  rediscoveryLifetime?: number;
  /** Seconds past `jwksRefreshInterval` the last good keys keep serving while the issuer is unreachable. @defaultValue 3600 */
  jwksStaleIfError?: number;
  /** Milliseconds before any call to the issuer is aborted. @defaultValue 10000 */
  timeout?: number;
  /** Where bearer tokens are read from (`Authorization: Bearer`, `?access_token=`, a parsed body's `access_token`). @defaultValue `['header']` */
  bearerTokenParamType?: OidcParamType[];
  /** Where client credentials are read from (HTTP Basic, `client_id`/`client_secret` query or body arguments). @defaultValue `['header']` */
  clientCredentialsParamType?: OidcParamType[];
  /** The realm of `WWW-Authenticate` challenges. @defaultValue the issuer's host */
  realm?: string;
  /** Whether CORS preflight requests are authenticated too. @defaultValue true */
  runOnPreflight?: boolean;
  /** Verified tokens kept, so repeated tokens skip the signature check; 0 disables. @defaultValue 10000 */
  tokenCacheSize?: number;
  /** Accept a plain-http issuer and endpoints: local development and tests only. @defaultValue false */
  allowInsecureIssuer?: boolean;
}

/** The resolved, frozen configuration. */
export interface OidcConfig {
  readonly issuer: string;
  readonly authMethods: readonly OidcAuthMethod[];
  /** The audiences a token may be for, or `false` when any audience passes. */
  readonly audience: readonly string[] | false;
  /** Each an AND-list; the outer list is an OR. */
  readonly audienceRequired: readonly (readonly string[])[];
  readonly scopesRequired: readonly (readonly string[])[];
  readonly scopesClaim: readonly string[];
  readonly rolesRequired: readonly (readonly string[])[];
  readonly rolesClaim: readonly string[];
  readonly consumerClaim: readonly string[];
  /** The registry consumers are mapped in, with how; undefined when the claim's value is the consumer id. */
  readonly consumers?: ConsumerRegistry;
  readonly consumerBy: readonly ConsumerField[];
  readonly consumerOptional: boolean;
  readonly credentialClaim: string;
  /** [claim, lower-cased header name] pairs. */
  readonly upstreamHeaders: readonly (readonly [string, string])[];
  readonly tokenPostArgs: Readonly<Record<string, string>>;
  readonly tokenEndpointAuthMethod: 'client_secret_post' | 'client_secret_basic';
  /** Introspection settings; the credentials are kept apart, never in the exposed config. */
  readonly introspection?: Readonly<Required<Pick<OidcIntrospectionOptions, 'ttl' | 'customClaimsForward' | 'tokenTypeHint'>>>;
  readonly tokenEndpoint?: string;
  readonly introspectionEndpoint?: string;
  readonly jwksEndpoint?: string;
  readonly leeway: number;
  readonly jwksRefreshInterval: number;
  readonly rediscoveryLifetime: number;
  readonly jwksStaleIfError: number;
  readonly timeout: number;
  readonly bearerTokenParamType: readonly OidcParamType[];
  readonly clientCredentialsParamType: readonly OidcParamType[];
  readonly realm: string;
  readonly runOnPreflight: boolean;
  readonly tokenCacheSize: number;
  readonly allowInsecureIssuer: boolean;
  /** End-user login and sessions, when `authMethods` has `authorization_code` or `session` (no secret in it). */
  readonly login?: OidcLoginConfig;
}

const where: Where = { plugin: 'oidc' };
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const paramTypes = v.array(v.oneOf(['header', 'query', 'body'] as const), { minLength: 1 });
const claimPath = v.list(v.string(), { minLength: 1 });

const shape = {
  issuer: v.url(),
  authMethods: v.optional(v.array(v.oneOf(['bearer', 'client_credentials', 'introspection', 'authorization_code', 'session'] as const), { minLength: 1 }), () => ['bearer' as const]),
  audience: v.optional(v.either(v.list(v.string(), { minLength: 1 }), v.custom<false>('false', (x) => x === false))),
  audienceRequired: v.optional(v.array(v.string()), () => []),
  scopesRequired: v.optional(v.array(v.string()), () => []),
  scopesClaim: v.optional(claimPath, () => ['scope']),
  rolesRequired: v.optional(v.array(v.string()), () => []),
  rolesClaim: v.optional(claimPath, () => ['roles']),
  consumerClaim: v.optional(v.list(v.string(), { minLength: 1 }), () => ['azp', 'client_id', 'sub']),
  consumers: v.optional(v.custom<ConsumerRegistry>('a registry made by consumers([...])', isConsumerRegistry)),
  consumerBy: v.optional(v.array(v.custom<ConsumerField>('one of "id", "username", "custom_id"', isConsumerField), { minLength: 1 })),
  consumerOptional: v.optional(v.boolean()),
  credentialClaim: v.optional(v.string(), 'sub'),
  upstreamHeadersClaims: v.optional(v.array(v.string()), () => []),
  upstreamHeadersNames: v.optional(v.array(v.string()), () => []),
  tokenPostArgs: v.optional(v.record(v.string({ allowEmpty: true })), () => ({})),
  tokenEndpointAuthMethod: v.optional(v.oneOf(['client_secret_post', 'client_secret_basic'] as const), 'client_secret_post'),
  introspection: v.optional(
    v.object({
      authorizationValue: v.optional(v.secret()),
      clientId: v.optional(v.string()),
      clientSecret: v.optional(v.secret()),
      ttl: v.optional(v.integer({ min: 0 }), 30),
      customClaimsForward: v.optional(v.array(v.string()), () => []),
      tokenTypeHint: v.optional(v.string(), 'access_token'),
    }),
  ),
  tokenEndpoint: v.optional(v.url()),
  introspectionEndpoint: v.optional(v.url()),
  jwksEndpoint: v.optional(v.url()),
  leeway: v.optional(v.integer({ min: 0 }), 0),
  jwksRefreshInterval: v.optional(v.integer({ min: 1 }), 900),
  rediscoveryLifetime: v.optional(v.integer({ min: 0 }), 30),
  jwksStaleIfError: v.optional(v.integer({ min: 0 }), 3600),
  timeout: v.optional(v.integer({ min: 1 }), 10_000),
  bearerTokenParamType: v.optional(paramTypes, () => ['header' as const]),
  clientCredentialsParamType: v.optional(paramTypes, () => ['header' as const]),
  realm: v.optional(v.string()),
  runOnPreflight: v.optional(v.boolean(), true),
  tokenCacheSize: v.optional(v.integer({ min: 0 }), 10_000),
  allowInsecureIssuer: v.optional(v.boolean(), false),
  ...loginShape,
};

/** Splits Kong-style requirement entries: `['a b', 'c']` means (a AND b) OR c. */
const alternatives = (entries: string[], path: string): string[][] =>
  entries.map((entry, i) => {
    const words = entry.split(/\s+/).filter(Boolean);
    if (words.length === 0) throw new ConfigError(`oidc: "${path}[${i}]" must name at least one value, got ${JSON.stringify(entry)}`, `${path}[${i}]`);
    return words;
  });

/**
 * Validates `oidc()` options and resolves defaults.
 *
 * @throws ConfigError naming the option, for any wrong value or combination.
 */
export function parseOidcOptions(options: unknown): { config: Readonly<OidcConfig>; introspectionAuthorization?: string; loginSecrets?: OidcLoginSecrets } {
  const o = parseShape(where, shape, options);
  const issuerUrl = new URL(o.issuer);
  for (const key of ['issuer', 'tokenEndpoint', 'introspectionEndpoint', 'jwksEndpoint'] as const) {
    const value = o[key];
    if (value !== undefined && new URL(value).protocol === 'http:' && !o.allowInsecureIssuer) {
      throw new ConfigError(`oidc: "${key}" must be an https URL, got ${JSON.stringify(value)} (set allowInsecureIssuer: true for local development only)`, key);
    }
  }
  if (o.upstreamHeadersClaims.length !== o.upstreamHeadersNames.length) {
    throw new ConfigError(
      `oidc: "upstreamHeadersNames" must name one header per entry of "upstreamHeadersClaims" (${o.upstreamHeadersClaims.length} claims, ${o.upstreamHeadersNames.length} names)`,
      'upstreamHeadersNames',
    );
  }
  o.upstreamHeadersNames.forEach((name, i) => {
    if (!HEADER_NAME.test(name)) throw new ConfigError(`oidc: "upstreamHeadersNames[${i}]" must be a valid header name, got ${JSON.stringify(name)}`, `upstreamHeadersNames[${i}]`);
  });
  for (const reserved of ['grant_type', 'client_id', 'client_secret']) {
    if (reserved in o.tokenPostArgs) throw new ConfigError(`oidc: "tokenPostArgs.${reserved}" is set by the plugin and cannot be overridden`, `tokenPostArgs.${reserved}`);
  }
  if (o.realm !== undefined && !/^[\x20-\x7e]+$/.test(o.realm.replace(/["\\]/g, '\x00'))) {
    throw new ConfigError(`oidc: "realm" must be printable ASCII without quotes or backslashes, got ${JSON.stringify(o.realm)}`, 'realm');
  }
  // express-oauth2-jwt-bearer's rule: no silent "any audience" where presented tokens are validated.
  const validatesTokens = o.authMethods.filter((m) => m === 'bearer' || m === 'introspection');
  if (o.audience === undefined && validatesTokens.length > 0) {
    throw new ConfigError(
      `oidc: "audience" is required with authMethods ${validatesTokens.map((m) => `"${m}"`).join(' and ')} (the API identifier your tokens are issued for, such as 'https://api.example.com'); set audience: false to accept tokens for any audience of the issuer`,
      'audience',
    );
  }
  for (const key of ['consumerBy', 'consumerOptional'] as const) {
    if (o[key] !== undefined && o.consumers === undefined) {
      throw new ConfigError(`oidc: "${key}" applies to registered consumers; set "consumers" too (consumers([...]))`, key);
    }
  }
  let introspection: OidcConfig['introspection'];
  let introspectionAuthorization: string | undefined;
  if (o.authMethods.includes('introspection')) {
    const i = o.introspection;
    const hasValue = i?.authorizationValue !== undefined;
    const hasClient = i?.clientId !== undefined || i?.clientSecret !== undefined;
    if (!i || hasValue === hasClient) {
      throw new ConfigError('oidc: "introspection" needs either "authorizationValue" or "clientId" and "clientSecret" when authMethods includes "introspection"', 'introspection');
    }
    if (hasClient && (i.clientId === undefined || i.clientSecret === undefined)) {
      throw new ConfigError(`oidc: "introspection.${i.clientId === undefined ? 'clientId' : 'clientSecret'}" is required with "introspection.${i.clientId === undefined ? 'clientSecret' : 'clientId'}"`, 'introspection');
    }
    i.customClaimsForward.forEach((claim, n) => {
      if (!HEADER_NAME.test(claim)) {
        throw new ConfigError(`oidc: "introspection.customClaimsForward[${n}]" must be usable in a header name, got ${JSON.stringify(claim)}`, `introspection.customClaimsForward[${n}]`);
      }
    });
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
    introspection = { ttl: i.ttl, customClaimsForward: i.customClaimsForward, tokenTypeHint: i.tokenTypeHint };
    introspectionAuthorization = i.authorizationValue ?? basic(i.clientId!, i.clientSecret!);
  } else if (o.introspection !== undefined) {
    throw new ConfigError('oidc: "introspection" is set but authMethods does not include "introspection"', 'introspection');
  }
  const login = resolveLogin(o, o.authMethods);
  const config: OidcConfig = {
    issuer: o.issuer,
    authMethods: [...new Set(o.authMethods)],
    audience: o.audience ?? false,
    audienceRequired: alternatives(o.audienceRequired, 'audienceRequired'),
    scopesRequired: alternatives(o.scopesRequired, 'scopesRequired'),
    scopesClaim: o.scopesClaim,
    rolesRequired: alternatives(o.rolesRequired, 'rolesRequired'),
    rolesClaim: o.rolesClaim,
    consumerClaim: o.consumerClaim,
    ...(o.consumers ? { consumers: o.consumers } : {}),
    consumerBy: [...new Set(o.consumerBy ?? (['custom_id', 'username'] as const))],
    consumerOptional: o.consumerOptional ?? false,
    credentialClaim: o.credentialClaim,
    upstreamHeaders: o.upstreamHeadersClaims.map((claim, i) => [claim, o.upstreamHeadersNames[i]!.toLowerCase()] as const),
    tokenPostArgs: o.tokenPostArgs,
    tokenEndpointAuthMethod: o.tokenEndpointAuthMethod,
    ...(introspection ? { introspection } : {}),
    ...(o.tokenEndpoint ? { tokenEndpoint: o.tokenEndpoint } : {}),
    ...(o.introspectionEndpoint ? { introspectionEndpoint: o.introspectionEndpoint } : {}),
    ...(o.jwksEndpoint ? { jwksEndpoint: o.jwksEndpoint } : {}),
    leeway: o.leeway,
    jwksRefreshInterval: o.jwksRefreshInterval,
    rediscoveryLifetime: o.rediscoveryLifetime,
    jwksStaleIfError: o.jwksStaleIfError,
    timeout: o.timeout,
    bearerTokenParamType: o.bearerTokenParamType,
    clientCredentialsParamType: o.clientCredentialsParamType,
    realm: o.realm ?? issuerUrl.host,
    runOnPreflight: o.runOnPreflight,
    tokenCacheSize: o.tokenCacheSize,
    allowInsecureIssuer: o.allowInsecureIssuer,
    ...(login ? { login: login.login } : {}),
  };
  return { config: deepFreeze(config), ...(introspectionAuthorization ? { introspectionAuthorization } : {}), ...(login ? { loginSecrets: login.secrets } : {}) };
}
