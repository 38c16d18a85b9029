import { ConfigError, oidc, type OidcOptions } from 'tollgate';
import { configError } from '../../support/config-error';

const issuer = 'https://tenant.us.auth0.com/';
const build = (options: Partial<OidcOptions>) => () => oidc({ issuer, audience: 'https://api.example', ...options } as OidcOptions);

describe('oidc options', () => {
  it('resolves Kong-like defaults, with priority 1050 and the name "oidc"', () => {
    const plugin = oidc({ issuer, audience: 'https://api.example' });
    expect(plugin.name).toBe('oidc');
    expect(plugin.priority).toBe(1050);
    expect(plugin.config).toMatchObject({
      issuer,
      authMethods: ['bearer'],
      audience: ['https://api.example'],
      audienceRequired: [],
      scopesRequired: [],
      scopesClaim: ['scope'],
      rolesClaim: ['roles'],
      consumerClaim: ['azp', 'client_id', 'sub'],
      credentialClaim: 'sub',
      upstreamHeaders: [],
      tokenPostArgs: {},
      tokenEndpointAuthMethod: 'client_secret_post',
      leeway: 0,
      jwksRefreshInterval: 900,
      rediscoveryLifetime: 30,
      jwksStaleIfError: 3600,
      timeout: 10000,
      bearerTokenParamType: ['header'],
      clientCredentialsParamType: ['header'],
      realm: 'tenant.us.auth0.com',
      runOnPreflight: true,
      tokenCacheSize: 10000,
      allowInsecureIssuer: false,
    });
    expect(Object.isFrozen(plugin.config)).toBe(true);
  });

  it('splits Kong requirement entries into alternatives of all-required values', () => {
    expect(oidc({ issuer, audience: false, scopesRequired: ['read write', 'admin'] }).config.scopesRequired).toEqual([['read', 'write'], ['admin']]);
  });

  it.each<[string, Partial<OidcOptions>, RegExp]>([
    ['a missing issuer', { issuer: undefined }, /"issuer" is required/],
    ['a plain-http issuer', { issuer: 'http://idp.local/' }, /"issuer" must be an https URL.*allowInsecureIssuer/],
    ['a plain-http endpoint override', { tokenEndpoint: 'http://idp.local/token' }, /"tokenEndpoint" must be an https URL/],
    ['an unknown auth method', { authMethods: ['password' as never] }, /"authMethods\[0\]" must be one of/],
    ['a typo', { scopeRequired: ['x'] } as never, /unknown option "scopeRequired" \(did you mean "scopesRequired"\?\)/],
    ['an empty requirement entry', { scopesRequired: ['  '] }, /"scopesRequired\[0\]" must name at least one value/],
    ['header names that do not match the claims', { upstreamHeadersClaims: ['sub', 'org'], upstreamHeadersNames: ['x-sub'] }, /one header per entry/],
    ['an invalid header name', { upstreamHeadersClaims: ['sub'], upstreamHeadersNames: ['x sub'] }, /"upstreamHeadersNames\[0\]" must be a valid header name/],
    ['a reserved token argument', { tokenPostArgs: { client_secret: 'x' } }, /"tokenPostArgs.client_secret" is set by the plugin/],
    ['introspection without credentials', { authMethods: ['introspection'] }, /"introspection" needs either/],
    ['introspection with both kinds of credentials', { authMethods: ['introspection'], introspection: { authorizationValue: 'Basic x', clientId: 'a', clientSecret: 'b' } }, /needs either/],
    ['a client id without its secret', { authMethods: ['introspection'], introspection: { clientId: 'a' } }, /"introspection.clientSecret" is required/],
    ['introspection settings without the method', { introspection: { authorizationValue: 'Basic x' } }, /authMethods does not include "introspection"/],
    ['a negative leeway', { leeway: -1 }, /"leeway" must be a non-negative integer/],
    ['a realm with a quote', { realm: 'a"b' }, /"realm" must be printable ASCII/],
  ])('throws a ConfigError naming the option for %s', (_name, options, message) => {
    const attempt = build(options);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
  });

  it('never echoes a secret in a ConfigError, nor keeps introspection credentials in the exposed config', () => {
    let error: unknown;
    try {
      oidc({ issuer, audience: 'https://api.example', authMethods: ['introspection'], introspection: { clientId: 'gw', clientSecret: 42 as never } });
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).toBe('oidc: "introspection.clientSecret" must be a non-empty string, got a number');
    const plugin = oidc({ issuer, audience: 'https://api.example', authMethods: ['introspection'], introspection: { clientId: 'gw', clientSecret: 'super-secret' } });
    expect(JSON.stringify(plugin.config)).not.toContain('super-secret');
    expect(plugin.config.introspection).toEqual({ ttl: 30, customClaimsForward: [], tokenTypeHint: 'access_token' });
  });

  it('allows plain http for local development when asked, and makes no request at construction', () => {
    const plugin = oidc({ issuer: 'http://127.0.0.1:1/', allowInsecureIssuer: true, audience: false });
    expect(plugin.config.realm).toBe('127.0.0.1:1');
  });

  describe('audience', () => {
    // Without an audience check, every token the tenant signs for any of its APIs would pass.
    it.each<[string, Partial<OidcOptions>]>([
      ['bearer, the default method', {}],
      ['bearer beside client credentials', { authMethods: ['client_credentials', 'bearer'] }],
      ['introspection', { authMethods: ['introspection'], introspection: { authorizationValue: 'Basic eA==' } }],
    ])('is required for %s, with a ConfigError naming it', (_name, options) => {
      const error = configError(() => oidc({ issuer, ...options }));
      expect(error.option).toBe('audience');
      expect(error.message).toMatch(/^oidc: "audience" is required .*audience: false/);
    });

    it('accepts audience: false as the explicit way to accept any audience', () => {
      const plugin = oidc({ issuer, audience: false });
      expect(plugin.config.audience).toBe(false);
    });

    it('is not required when only client credentials are exchanged (the token comes from the token endpoint)', () => {
      expect(oidc({ issuer, authMethods: ['client_credentials'] }).config.audience).toBe(false);
    });

    it.each<[string, unknown]>([
      ['true', true],
      ['an empty list', []],
      ['an empty string', ''],
    ])('refuses %s with a ConfigError naming "audience"', (_name, audience) => {
      const error = configError(() => oidc({ issuer, audience } as unknown as OidcOptions));
      expect(error.option).toMatch(/^audience/);
      expect(error.message).toMatch(/"audience(\[0\])?" must be/);
    });
  });
});
