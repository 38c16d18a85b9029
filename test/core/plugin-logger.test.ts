/**
 * A logger can be given per plugin: what that plugin reports goes there, not to the gateway's
 * logger nor to the process default, and the logger is used as the app gave it.
 */
import express from 'express';
import request from 'supertest';
import { ConfigError, oidc, proxyCache, rateLimit, setLogger, upstreamProxy, type Logger } from 'tollgate';
import { gateway } from 'tollgate/express';
import { freePort } from '../support/ports';

/** A logger that keeps every line it is given, with its level. */
const recorder = (): Logger & { lines: string[] } => {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
};

let processDefault: ReturnType<typeof recorder>;
beforeEach(() => {
  processDefault = recorder();
  setLogger(processDefault);
});
afterEach(() => setLogger(null));

describe('a plugin with a logger of its own', () => {
  it('upstreamProxy reports a refused upstream there, not to the gateway logger', async () => {
    const mine = recorder();
    const gatewayLog = recorder();
    const app = express();
    app.use(gateway({ logger: gatewayLog }, upstreamProxy({ url: `http://127.0.0.1:${await freePort()}`, retries: 0, logger: mine })));
    const res = await request(app).get('/');
    expect(res.status).toBe(502);
    expect(mine.lines).toEqual([expect.stringMatching(/^warn upstreamProxy: request to http:\/\/127\.0\.0\.1:\d+\/ failed$/)]);
    expect(gatewayLog.lines).toEqual([]);
    expect(processDefault.lines).toEqual([]);
  });

  it('without one, upstreamProxy reports to the gateway logger', async () => {
    const gatewayLog = recorder();
    const app = express();
    app.use(gateway({ logger: gatewayLog }, upstreamProxy({ url: `http://127.0.0.1:${await freePort()}`, retries: 0 })));
    expect((await request(app).get('/')).status).toBe(502);
    expect(gatewayLog.lines).toEqual([expect.stringMatching(/^warn upstreamProxy: request to .* failed$/)]);
    expect(processDefault.lines).toEqual([]);
  });

  it('oidc says why it refused there (and, without one, to the gateway logger)', async () => {
    const mine = recorder();
    const gatewayLog = recorder();
    const app = express();
    // No credentials: refused before the issuer is ever asked.
    app.use('/own', gateway({ logger: gatewayLog }, oidc({ issuer: 'https://issuer.example/', audience: 'https://api.example', logger: mine })));
    app.use('/shared', gateway({ logger: gatewayLog }, oidc({ issuer: 'https://issuer.example/', audience: 'https://api.example' })));
    expect((await request(app).get('/own')).status).toBe(401);
    expect(mine.lines).toEqual(['debug oidc: refused with 401']);
    expect(gatewayLog.lines).toEqual([]);
    expect((await request(app).get('/shared')).status).toBe(401);
    expect(gatewayLog.lines).toEqual(['debug oidc: refused with 401']);
    expect(processDefault.lines).toEqual([]);
  });

  it('rateLimit and proxyCache report a Redis outage there, not to the process default', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const limits = recorder();
    const cache = recorder();
    const limiter = rateLimit({ minute: 5, policy: 'redis', redis: { url, connectTimeout: 200 }, logger: limits });
    const cached = proxyCache({ strategy: 'redis', redis: { url, connectTimeout: 200 }, logger: cache });
    try {
      const app = express();
      app.use(gateway(limiter, cached));
      app.get('/', (_req, res) => void res.json({ ok: true }));
      // faultTolerant (the default): the request goes through, uncounted and uncached.
      const res = await request(app).get('/');
      expect(res.status).toBe(200);
      expect(res.headers['x-cache-status']).toBe('Bypass');
      expect(limits.lines).toContain('warn rateLimit: Redis is unavailable');
      expect(cache.lines).toContain('warn proxyCache: Redis is unavailable');
      expect(limits.lines.some((l) => l.includes('proxyCache'))).toBe(false);
      expect(processDefault.lines).toEqual([]);
    } finally {
      await Promise.all([limiter.close(), cached.close()]);
    }
  });

  it('keeps the logger as given: not frozen, not copied', () => {
    const logger = recorder();
    const plugins = [
      rateLimit({ minute: 5, logger }),
      proxyCache({ logger }),
      oidc({ issuer: 'https://issuer.example/', audience: 'https://api.example', logger }),
      upstreamProxy({ url: 'http://127.0.0.1:1', logger }),
    ];
    expect(plugins).toHaveLength(4);
    expect(Object.isFrozen(logger)).toBe(false);
    expect(Object.isFrozen(logger.lines)).toBe(false);
    // Not part of the frozen config that a plugin exposes either.
    for (const plugin of plugins) expect(plugin.config).not.toHaveProperty('logger');
  });

  it.each([
    ['rateLimit', () => rateLimit({ minute: 5, logger: {} as Logger })],
    ['proxyCache', () => proxyCache({ logger: console.log as unknown as Logger })],
    ['oidc', () => oidc({ issuer: 'https://issuer.example/', audience: 'https://api.example', logger: 'debug' as unknown as Logger })],
    ['upstreamProxy', () => upstreamProxy({ url: 'http://127.0.0.1:1', logger: { warn() {} } as unknown as Logger })],
  ])('%s: a logger without the four level methods is a ConfigError naming "logger"', (name, build) => {
    let caught: unknown;
    try {
      build();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).option).toBe('logger');
    expect((caught as ConfigError).message).toMatch(new RegExp(`^${name}: "logger" must be an object with debug, info, warn, error methods`));
  });
});
