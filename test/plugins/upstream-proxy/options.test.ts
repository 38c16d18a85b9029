import { ConfigError, upstreamProxy, type UpstreamProxyOptions } from 'tollgate';
import { configError as expectConfigError } from '../../support/config-error';

const configError = (options: unknown): ConfigError => expectConfigError(() => upstreamProxy(options as UpstreamProxyOptions).close());

describe('upstreamProxy options', () => {
  it("resolves Kong's defaults and freezes them", () => {
    const plugin = upstreamProxy({ url: 'http://127.0.0.1:8080' });
    plugin.close();
    expect(plugin.name).toBe('upstream-proxy');
    expect(plugin.priority).toBe(0);
    expect(plugin.config).toMatchObject({
      targets: [{ protocol: 'http:', hostname: '127.0.0.1', port: 8080, host: '127.0.0.1:8080', basePath: '/' }],
      balanced: false,
      stripPath: true,
      preserveHost: false,
      connectTimeout: 60_000,
      readTimeout: 60_000,
      writeTimeout: 60_000,
      retries: 5,
      healthchecks: { tcpFailures: 1, timeouts: 3, httpFailures: 0, httpStatuses: [429, 500, 503], cooldown: 10 },
      keepalive: { poolSize: 256, idleTimeout: 60_000, maxSockets: Infinity },
    });
    expect(Object.isFrozen(plugin.config.healthchecks)).toBe(true);
  });

  it('parses targets with their ports, IPv6 hosts and base paths', () => {
    const plugin = upstreamProxy({ targets: ['https://api.example.com/v1', 'http://[::1]:9000'] });
    plugin.close();
    expect(plugin.config.targets).toMatchObject([
      { protocol: 'https:', hostname: 'api.example.com', port: 443, host: 'api.example.com', basePath: '/v1' },
      { protocol: 'http:', hostname: '::1', port: 9000, host: '[::1]:9000', basePath: '/' },
    ]);
    expect(plugin.config.balanced).toBe(true);
  });

  it.each([
    [{}, 'url', /"url" \(one upstream\) or "targets"/],
    [{ url: 'http://a', targets: ['http://b'] }, 'targets', /either "url" or "targets"/],
    [{ url: 'ftp://a' }, 'url', /"url" must be an absolute http\(s\) URL/],
    [{ url: 'http://a/?x=1' }, 'url', /must not carry credentials, a query or a fragment/],
    [{ targets: [] }, 'targets', /non-empty array/],
    [{ url: 'http://a', readTimout: 5 }, 'readTimout', /did you mean "readTimeout"/],
    [{ url: 'http://a', retries: -1 }, 'retries', /"retries" must be an integer ≥ 0/],
    [{ url: 'http://a', connectTimeout: 0 }, 'connectTimeout', /"connectTimeout" must be an integer ≥ 1/],
    [{ url: 'http://a', healthchecks: { passive: { cooldown: 5 } } }, 'healthchecks', /apply to "targets"/],
    [{ targets: ['http://a'], healthchecks: { passive: { unhealthy: { tcpFailure: 2 } } } }, 'healthchecks.passive.unhealthy.tcpFailure', /did you mean "tcpFailures"/],
    [{ url: 'http://a', keepalive: { poolSize: -1 } }, 'keepalive.poolSize', /non-negative integer/],
    [{ url: 'http://a', agent: { http: {} } }, 'agent.http', /an http.Agent/],
  ])('refuses %j naming %s', (options, option, message) => {
    const err = configError(options);
    expect(err.option).toBe(option);
    expect(err.message).toMatch(message);
  });

  it('checks backend client credentials at construction and never quotes the secret', () => {
    const base = { clientId: 'gw', clientSecret: 'hunter2' };
    expect(configError({ url: 'http://a', auth: { clientCredentials: base } }).message).toMatch(/exactly one of "issuer" \(discovery\) or "tokenUrl"/);
    expect(configError({ url: 'http://a', auth: { clientCredentials: { ...base, issuer: 'https://i', tokenUrl: 'https://i/t' } } }).option).toBe('auth.clientCredentials.tokenUrl');
    expect(configError({ url: 'http://a', auth: { clientCredentials: { ...base, tokenUrl: 'https://i/t', scopes: ['a'], tokenPostArgs: { scope: 'b' } } } }).option).toBe(
      'auth.clientCredentials.scopes',
    );
    const secret = configError({ url: 'http://a', auth: { clientCredentials: { clientId: 'gw', clientSecret: ['hunter2'], tokenUrl: 'https://i/t' } } });
    expect(secret.option).toBe('auth.clientCredentials.clientSecret');
    expect(secret.message).not.toContain('hunter2');
  });
});
