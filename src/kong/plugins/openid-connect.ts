/**
 * Kong's openid-connect plugin → `oidc()`: the bearer, client-credentials and introspection
 * methods with claims authorization and consumer mapping. Browser flows (authorization code,
 * sessions, logout) exist in tollgate's oidc but are not translated from Kong's fields yet;
 * password and refresh-token grants, token exchange, DPoP/mTLS proof of possession and most
 * tuning knobs have no counterpart. All of them are reported.
 *
 * @see https://developer.konghq.com/plugins/openid-connect/reference/
 */
import { oidc, type OidcAuthMethod, type OidcOptions, type OidcParamType } from '../../plugins/oidc';
import { parseOidcOptions } from '../../plugins/oidc/options';
import type { ConsumerField } from '../../core/consumers';
import { OPENID_CONNECT_DEFAULTS } from './openid-connect-defaults';
import { ConfigReader, claimPath, strings } from './reader';
import { describeCall, issuerTransport, type Translator } from './translation';

const METHODS: readonly OidcAuthMethod[] = ['bearer', 'client_credentials', 'introspection'];
const PARAM_TYPES: readonly OidcParamType[] = ['header', 'query', 'body'];
const CONSUMER_BY: readonly ConsumerField[] = ['id', 'username', 'custom_id'];
const CLIENT_AUTH = ['client_secret_post', 'client_secret_basic'] as const;

/** Why a field the translator did not take is unsupported, by its family. */
function why(key: string): string {
  if (/^(session_|authorization_|login_|logout_|redirect_uri|response_mode|response_type|require_|pushed_authorization|end_session|disable_session|jwt_session|reverify|preserve_query_args)/.test(key)) {
    return `${key} belongs to the browser flows (authorization_code, session): tollgate's oidc has them, but fromKong does not translate them yet; left out`;
  }
  if (/^(password_|refresh_token|id_token_|userinfo_|token_exchange|introspection_post_args|introspection_headers|token_headers|token_post_args_client|downstream_|upstream_(?!headers|access_token_header))/.test(key)) {
    return `${key} is not supported by tollgate's oidc; left out`;
  }
  if (/^(proof_of_possession|dpop_|tls_client_auth|mtls_|client_jwk|client_alg)/.test(key)) return `${key}: proof of possession and JWT/mTLS client authentication are not supported; left out`;
  if (/^(cache_|cluster_cache|redis\.|token_cache_key)/.test(key)) return `${key}: tollgate caches verified tokens and introspection results its own way (tokenCacheSize, introspection ttl); left out`;
  return `${key} is not supported by tollgate's oidc; left out`;
}

/** Kong's claim paths (`[["azp"]]` in 3.14, `["azp"]` before) as top-level claim names. */
function consumerClaims(r: ConfigReader): string[] | undefined {
  const list = r.take('consumer_claims');
  const single = r.take('consumer_claim');
  const paths: unknown[] = Array.isArray(list) ? list : single !== undefined ? [single] : [];
  const names: string[] = [];
  paths.forEach((p, i) => {
    const key = list !== undefined ? `consumer_claims[${i}]` : 'consumer_claim';
    if (!Array.isArray(p) || p.length === 0 || !p.every((x) => typeof x === 'string')) return r.invalid(key, 'must be a claim path (an array of claim names)');
    if (p.length > 1) return r.unsupported(key, `the nested claim ${p.join('.')} cannot name a consumer (tollgate's consumerClaim takes top-level claims); left out`);
    names.push(p[0] as string);
  });
  return names.length > 0 ? names : undefined;
}

export const openidConnect: Translator = ({ path, config, findings, consumers }) => {
  const r = new ConfigReader(`${path}.config`, config, findings, OPENID_CONNECT_DEFAULTS);
  const issuer = r.take('issuer');
  if (typeof issuer !== 'string' || issuer === '') {
    r.invalid('issuer', 'is required');
    r.rest(why);
    return undefined;
  }
  const transport = issuerTransport(issuer);
  if (transport === undefined) {
    r.unsupported('issuer', 'tollgate needs an https issuer (plain http only on loopback, for local tests); the plugin is left out');
    r.rest(why);
    return undefined;
  }
  const options: OidcOptions = { issuer, ...transport };

  // Methods: Kong's default is all nine; tollgate has three of them.
  const given = strings(r, 'auth_methods');
  const methods = given ?? (OPENID_CONNECT_DEFAULTS.auth_methods as string[]);
  const kept = methods.filter((m): m is OidcAuthMethod => (METHODS as readonly string[]).includes(m));
  const dropped = methods.filter((m) => !(METHODS as readonly string[]).includes(m));
  if (dropped.length > 0) {
    r.unsupported(
      'auth_methods',
      `${given === undefined ? "Kong's default enables all nine methods; " : ''}${dropped.join(', ')} ${dropped.length === 1 ? 'is' : 'are'} not supported (bearer, client_credentials and introspection are${
        dropped.some((m) => m === 'authorization_code' || m === 'session') ? "; tollgate's oidc has authorization_code and session, not yet translated from Kong files" : ''
      }): left out${given === undefined ? '; set auth_methods explicitly' : ''}`,
    );
  }
  if (kept.length === 0) {
    r.unsupported('auth_methods', 'none of the methods is supported; the plugin is left out');
    r.rest(why);
    return undefined;
  }
  options.authMethods = kept;
  const clientCredentials = kept.includes('client_credentials');

  // Where credentials are read: Kong's defaults are wider than tollgate's (header only).
  const params = (key: string, extra: readonly string[] = []): OidcParamType[] | undefined => {
    const list = strings(r, key) ?? (OPENID_CONNECT_DEFAULTS[key] as string[]);
    const unknown = list.filter((x) => !(PARAM_TYPES as readonly string[]).includes(x));
    if (unknown.some((x) => !extra.includes(x))) r.invalid(key, `must hold header, query or body${extra.length ? ` or ${extra.join(', ')}` : ''}`);
    if (unknown.some((x) => extra.includes(x))) r.unsupported(key, `${unknown.join(', ')} is not supported (header, query and body are); left out`);
    const ok = list.filter((x): x is OidcParamType => (PARAM_TYPES as readonly string[]).includes(x));
    return ok.length > 0 ? ok : undefined;
  };
  const bearer = params('bearer_token_param_type', ['cookie']);
  if (bearer) options.bearerTokenParamType = bearer;
  const client = params('client_credentials_param_type');
  if (client) options.clientCredentialsParamType = client;
  r.take('bearer_token_cookie_name');

  // Claims authorization.
  const copyList = (kong: string, ours: 'audienceRequired' | 'scopesRequired' | 'rolesRequired') => {
    const value = strings(r, kong);
    if (value !== undefined && value.length > 0) options[ours] = value;
  };
  copyList('audience_required', 'audienceRequired');
  // Kong checks a token's aud only through audience_required; tollgate asks for the choice to be explicit.
  options.audience = false;
  if (options.audienceRequired === undefined && kept.some((m) => m === 'bearer' || m === 'introspection')) {
    findings.translated(
      `${path}.config.audience_required`,
      'not set: as in Kong, a token the issuer signed for any of its APIs passes (oidc audience: false); set audience_required to accept only yours',
    );
  }
  copyList('scopes_required', 'scopesRequired');
  copyList('roles_required', 'rolesRequired');
  const scopesClaim = claimPath(r, 'scopes_claim');
  if (scopesClaim) options.scopesClaim = scopesClaim;
  const rolesClaim = claimPath(r, 'roles_claim');
  if (rolesClaim) options.rolesClaim = rolesClaim;
  const audienceClaim = claimPath(r, 'audience_claim');
  if (audienceClaim && !(audienceClaim.length === 1 && audienceClaim[0] === 'aud')) {
    r.unsupported('audience_claim', 'tollgate checks audiences in the aud claim; left out');
  }
  const credentialClaim = claimPath(r, 'credential_claim');
  if (credentialClaim && credentialClaim.length > 1) r.unsupported('credential_claim', 'a nested credential claim is not supported (tollgate takes a top-level claim); left out');
  else if (credentialClaim) options.credentialClaim = credentialClaim[0]!;

  // Consumer mapping.
  const claims = consumerClaims(r);
  const consumerBy = strings(r, 'consumer_by');
  const optional = r.take('consumer_optional');
  if (r.take('by_username_ignore_case') === true) r.unsupported('by_username_ignore_case', 'usernames are compared case-sensitively; left out');
  if (claims !== undefined) {
    options.consumerClaim = claims;
    options.consumers = consumers;
    if (consumerBy !== undefined) {
      const bad = consumerBy.filter((x) => !(CONSUMER_BY as readonly string[]).includes(x));
      if (bad.length > 0) r.invalid('consumer_by', 'must hold id, username or custom_id');
      else options.consumerBy = consumerBy as ConsumerField[];
    }
    if (optional === true) options.consumerOptional = true;
  } else {
    findings.translated(
      `${path}.config.consumer_claim`,
      'not set: Kong maps no consumer (limits count by credential); tollgate takes the consumer id from the azp, client_id or sub claim, which keeps per-client limits and cache entries apart just the same',
    );
  }

  // The token endpoint (client credentials).
  const names = strings(r, 'token_post_args_names') ?? [];
  const values = strings(r, 'token_post_args_values') ?? [];
  if (names.length !== values.length) r.invalid('token_post_args_values', 'must give one value per token_post_args_names entry');
  const postArgs: Record<string, string> = {};
  names.forEach((name, i) => {
    if (values[i] !== undefined) postArgs[name] = values[i]!;
  });
  const audience = strings(r, 'audience');
  if (audience !== undefined && audience.length > 0) {
    if (!clientCredentials) {
      r.translated('audience', 'is what Kong asks the authorization endpoint for; bearer and introspection do not use it');
    } else if (audience.length > 1) {
      r.unsupported('audience', 'tollgate asks the token endpoint for one audience; left out');
    } else if (postArgs.audience === undefined) {
      postArgs.audience = audience[0]!;
      r.translated('audience', 'sent to the token endpoint as the audience post argument (tokenPostArgs.audience)');
    }
  }
  const scopes = strings(r, 'scopes');
  if (scopes !== undefined && !r.isDefault('scopes', scopes)) {
    if (clientCredentials && postArgs.scope === undefined) {
      postArgs.scope = scopes.join(' ');
      r.translated('scopes', 'sent to the token endpoint as the scope post argument');
    } else {
      r.translated('scopes', 'is what Kong asks the identity provider for; bearer and introspection do not use it');
    }
  }
  if (Object.keys(postArgs).length > 0) options.tokenPostArgs = postArgs;

  const clientAuth = strings(r, 'client_auth');
  const authMethod = (clientAuth?.[0] ?? r.take('token_endpoint_auth_method') ?? 'client_secret_basic') as string;
  if ((CLIENT_AUTH as readonly string[]).includes(authMethod)) options.tokenEndpointAuthMethod = authMethod as (typeof CLIENT_AUTH)[number];
  else r.unsupported('client_auth', `${authMethod} is not supported (client_secret_basic and client_secret_post are); left out, client_secret_basic is used`);
  if (clientAuth !== undefined && clientAuth.length > 1) r.translated('client_auth', `only the first method (${clientAuth[0]}) is used`);

  // The plugin's own client: tollgate uses it for introspection only.
  const clientIds = strings(r, 'client_id');
  const clientSecrets = strings(r, 'client_secret');
  r.take('client_arg');
  if (kept.includes('introspection')) {
    if (!clientIds?.length || !clientSecrets?.length) {
      r.unsupported('client_id', 'introspection needs the client_id and client_secret the gateway introspects with; the introspection method is left out');
      options.authMethods = kept.filter((m) => m !== 'introspection');
    } else {
      options.introspection = { clientId: clientIds[0]!, clientSecret: clientSecrets[0]! };
      if (clientIds.length > 1) r.unsupported('client_id', 'only one client is supported (no client_arg selection); the first is used');
      const hint = r.take('introspection_hint');
      if (typeof hint === 'string') options.introspection.tokenTypeHint = hint;
      const method = r.take('introspection_endpoint_auth_method');
      if (method !== undefined && method !== 'client_secret_basic') r.unsupported('introspection_endpoint_auth_method', 'tollgate introspects with HTTP Basic (client_secret_basic); left out');
    }
    if (options.authMethods!.length === 0) {
      r.rest(why);
      return undefined;
    }
  } else if (clientIds?.length) {
    r.translated('client_id', "Kong's own client is used for introspection only here; with these methods it is not needed");
  }
  if (r.take('introspect_jwt_tokens') === true) r.unsupported('introspect_jwt_tokens', 'JWTs are verified with the issuer keys, never introspected; left out');

  // Endpoints and timing.
  for (const [kong, ours] of [
    ['token_endpoint', 'tokenEndpoint'],
    ['introspection_endpoint', 'introspectionEndpoint'],
    ['jwks_endpoint', 'jwksEndpoint'],
    ['leeway', 'leeway'],
    ['rediscovery_lifetime', 'rediscoveryLifetime'],
    ['timeout', 'timeout'],
    ['run_on_preflight', 'runOnPreflight'],
  ] as const) {
    const value = r.take(kong);
    if (value !== undefined) (options as unknown as Record<string, unknown>)[ours] = value;
  }

  // Upstream headers.
  const headerClaims = strings(r, 'upstream_headers_claims');
  const headerNames = strings(r, 'upstream_headers_names');
  if (headerClaims?.length || headerNames?.length) {
    options.upstreamHeadersClaims = headerClaims ?? [];
    options.upstreamHeadersNames = headerNames ?? [];
  }
  const tokenHeader = r.take('upstream_access_token_header');
  if (tokenHeader !== undefined && String(tokenHeader).toLowerCase() !== 'authorization:bearer') {
    r.unsupported('upstream_access_token_header', 'tollgate sends the access token upstream as Authorization: Bearer; left out');
  }
  const hide = r.take('hide_credentials');
  if (hide === false) r.translated('hide_credentials', 'client_id/client_secret query and body arguments are removed before proxying either way');
  else if (kept.some((m) => m !== 'client_credentials') && bearer?.some((p) => p !== 'header')) {
    r.translated('bearer_token_param_type', 'a token sent as access_token in the query or body is read, and forwarded upstream as it came (Kong removes it, hide_credentials)');
  }
  const verify = r.take('ssl_verify');
  if (verify === false) r.translated('ssl_verify', "tollgate always verifies the identity provider's TLS certificate (Node's default)");
  for (const [kong, expected] of [
    ['unauthorized_error_message', 'Unauthorized'],
    ['forbidden_error_message', 'Forbidden'],
  ] as const) {
    const value = r.take(kong);
    if (value !== undefined && value !== expected) r.unsupported(kong, `tollgate answers {"message":"${expected}"}; left out`);
  }
  r.rest(why);

  return {
    summary: describeCall('oidc', { ...options, ...(options.consumers ? { consumers: `<${consumers.size} consumers>` } : {}) }),
    share: 'instance',
    validate: () => void parseOidcOptions(options),
    build: () => oidc(options),
  };
};
