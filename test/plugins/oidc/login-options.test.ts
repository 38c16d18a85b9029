import { oidc, type OidcOptions } from 'tollgate';
import { configError } from '../../support/config-error';

const SECRET = 'x'.repeat(32);
const base: OidcOptions = {
  issuer: 'https://acme.us.auth0.com/',
  authMethods: ['authorization_code', 'session'],
  clientId: 'web',
  clientSecret: 'web-secret',
  redirectUri: 'https://app.example.com/callback',
  sessionSecret: SECRET,
};
const build = (options: Partial<OidcOptions>) => () => oidc({ ...base, ...options } as OidcOptions);

describe('oidc login options', () => {
  it("resolves Kong's defaults and keeps every secret out of plugin.config", () => {
    const plugin = oidc(base);
    expect(plugin.config.authMethods).toEqual(['authorization_code', 'session']);
    expect(plugin.config.login).toEqual({
      clientId: 'web',
      redirectUri: 'https://app.example.com/callback',
      redirectPath: '/callback',
      scopes: ['openid'],
      authorizationQueryArgs: {},
      sessionCookieName: 'session',
      sessionIdlingTimeout: 900,
      sessionRollingTimeout: 3600,
      sessionAbsoluteTimeout: 86400,
      sessionStorage: 'cookie',
      logoutMethods: ['POST', 'DELETE'],
      logoutRevoke: false,
      refreshTokens: true,
    });
    expect(JSON.stringify(plugin.config)).not.toMatch(/web-secret|xxxx/);
    expect(Object.isFrozen(plugin.config.login)).toBe(true);
    expect(typeof plugin.close).toBe('function');
  });

  it('throws a ConfigError naming the option for every mistake', () => {
    const cases: [Partial<OidcOptions>, string, RegExp][] = [
      [{ clientId: undefined }, 'clientId', /"clientId" is required when authMethods includes "session"/],
      [{ clientSecret: undefined }, 'clientSecret', /required/],
      [{ sessionSecret: undefined }, 'sessionSecret', /required/],
      [{ redirectUri: undefined }, 'redirectUri', /required when authMethods includes "authorization_code"/],
      [{ redirectUri: '/callback' }, 'redirectUri', /absolute http\(s\) URL/],
      [{ sessionSecret: 'short' }, 'sessionSecret', /at least 32 characters/],
      [{ sessionSecret: [SECRET, 'short'] }, 'sessionSecret', /at least 32 characters/],
      [{ sessionSecret: [] }, 'sessionSecret', /at least 32 characters/],
      [{ authMethods: ['authorization_code'] }, 'authMethods', /must also include "session"/],
      [{ scopes: ['profile'] }, 'scopes', /must include "openid"/],
      [{ authorizationQueryArgs: { state: 'x' } }, 'authorizationQueryArgs.state', /set by the plugin/],
      [{ authorizationQueryArgs: { scope: 'x' } }, 'authorizationQueryArgs.scope', /use "scopes"/],
      [{ sessionCookieName: '__Host-session' }, 'sessionCookieName', /prefix/],
      [{ sessionCookieName: 'session.1' }, 'sessionCookieName', /chunks/],
      [{ sessionCookieName: 'a b' }, 'sessionCookieName', /cookie name/],
      [{ sessionIdlingTimeout: -1 }, 'sessionIdlingTimeout', /non-negative integer/],
      [{ sessionIdlingTimeout: 0, sessionRollingTimeout: 0, sessionAbsoluteTimeout: 0 }, 'sessionAbsoluteTimeout', /must end some time/],
      [{ sessionStorage: 'memcached' as 'redis' }, 'sessionStorage', /one of "cookie", "redis"/],
      [{ sessionStorage: 'redis' }, 'redis', /required when sessionStorage is "redis"/],
      [{ redis: { url: 'redis://127.0.0.1:6379' } }, 'redis', /sessionStorage is not "redis"/],
      [{ logoutUri: 'logout' }, 'logoutUri', /starting with "\/"/],
      [{ logoutUri: '/callback' }, 'logoutUri', /must differ/],
      [{ logoutMethods: ['get' as 'GET'] }, 'logoutMethods[0]', /one of "GET"/],
      [{ logoutRedirectUri: 'bye' }, 'logoutRedirectUri', /absolute http\(s\) URL/],
      [{ loginRedirectUri: '//evil.example' }, 'loginRedirectUri', /single "\/"/],
      [{ now: 5 as unknown as () => number }, 'now', /a function/],
      [{ authMethods: ['session'], redirectUri: 'https://app.example.com/cb' }, 'redirectUri', /does not include "authorization_code"/],
      [{ authMethods: ['bearer'], audience: 'https://api' }, 'clientId', /neither "authorization_code" nor "session"/],
    ];
    for (const [options, option, message] of cases) {
      const err = configError(build(options));
      expect([option, err.option]).toEqual([option, option]);
      expect(err.message).toMatch(message);
    }
  });

  it('never echoes a session secret in an error', () => {
    expect(configError(build({ sessionSecret: 'too-short-secret' })).message).not.toContain('too-short-secret');
  });

  it('accepts a session-only route (no callback) and a list of secrets', () => {
    const plugin = oidc({ ...base, authMethods: ['bearer', 'session'], audience: 'https://api', redirectUri: undefined, sessionSecret: [SECRET, 'y'.repeat(40)], loginRedirectUri: '/home' });
    expect(plugin.config.login).toMatchObject({ loginRedirectUri: '/home' });
    expect(plugin.config.login).not.toHaveProperty('redirectUri');
  });
});
