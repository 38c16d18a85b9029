/**
 * Kong's oauth2-introspection plugin → `oidc({ authMethods: ['introspection'] })` under Kong's
 * name and priority (1700): the token is posted to `introspection_url` with
 * `authorization_value`, the answer cached for `ttl` seconds.
 *
 * @see https://developer.konghq.com/plugins/oauth2-introspection/reference/
 */
import { oidc, type OidcOptions } from '../../plugins/oidc';
import { parseOidcOptions } from '../../plugins/oidc/options';
import { ConfigReader, strings, type Defaults } from './reader';
import { describeCall, issuerTransport, type Translator } from './translation';

const DEFAULTS: Defaults = {
  anonymous: '',
  introspect_request: false,
  keepalive: 60000,
};

export const oauth2Introspection: Translator = ({ path, config, findings, consumers }) => {
  const r = new ConfigReader(`${path}.config`, config, findings, DEFAULTS);
  const url = r.take('introspection_url');
  const authorization = r.take('authorization_value');
  if (typeof url !== 'string' || url === '') r.invalid('introspection_url', 'is required');
  if (typeof authorization !== 'string' || authorization === '') r.invalid('authorization_value', 'is required');
  const transport = typeof url === 'string' ? issuerTransport(url) : {};
  if (transport === undefined) r.unsupported('introspection_url', 'tollgate needs an https endpoint (plain http only on loopback, for local tests); the plugin is left out');
  const why = (key: string) => `${key} is not supported by tollgate's introspection; left out`;
  if (typeof url !== 'string' || url === '' || typeof authorization !== 'string' || authorization === '' || transport === undefined) {
    r.rest(why);
    return undefined;
  }
  // tollgate's oidc names an issuer; with a configured endpoint it is never fetched.
  const options: OidcOptions = {
    issuer: `${new URL(url).origin}/`,
    ...transport,
    authMethods: ['introspection'],
    // Kong's oauth2-introspection trusts the endpoint's active: true whatever the token's audience.
    audience: false,
    introspectionEndpoint: url,
    introspection: { authorizationValue: authorization },
    // Kong reads the token from the Authorization header, then access_token in the query or body.
    bearerTokenParamType: ['header', 'query', 'body'],
    // Kong maps the introspection answer to a consumer when one matches, and goes on without one otherwise.
    consumers,
    consumerOptional: true,
  };
  const consumerBy = r.take('consumer_by') ?? 'username';
  if (consumerBy === 'client_id') Object.assign(options, { consumerClaim: 'client_id', consumerBy: ['custom_id'] });
  else if (consumerBy === 'username') Object.assign(options, { consumerClaim: 'username', consumerBy: ['username'] });
  else r.invalid('consumer_by', 'must be username or client_id');

  const hint = r.take('token_type_hint');
  if (typeof hint === 'string') options.introspection!.tokenTypeHint = hint;
  else r.translated('token_type_hint', 'not set: tollgate sends token_type_hint=access_token');
  const ttl = r.take('ttl');
  if (typeof ttl === 'number') options.introspection!.ttl = Math.ceil(ttl);
  const forward = strings(r, 'custom_claims_forward');
  if (forward?.length) options.introspection!.customClaimsForward = forward;
  const timeout = r.take('timeout');
  if (timeout !== undefined) options.timeout = timeout as number;
  const preflight = r.take('run_on_preflight');
  if (preflight !== undefined) options.runOnPreflight = preflight as boolean;
  if (r.take('hide_credentials') !== false) {
    r.translated('hide_credentials', 'tollgate forwards the token upstream in Authorization; Kong removes it (hide_credentials defaults to true)');
  }
  findings.translated(`${path}`, 'refusals answer {"message":"Unauthorized"} with WWW-Authenticate (RFC 6750), where Kong answers {"error":"invalid_token",…}');
  r.rest(why);

  return {
    summary: describeCall('oidc', { ...options, consumers: `<${consumers.size} consumers>` }),
    share: 'instance',
    validate: () => void parseOidcOptions(options),
    // Kong's name and priority, so it runs before openid-connect (1050) and can sit beside it.
    build: () => Object.freeze({ ...oidc(options), name: 'oauth2-introspection', priority: 1700 }),
  };
};
