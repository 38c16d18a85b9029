import express from 'express';
import request from 'supertest';
import { oidc, setLogger, type OidcOptions } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestContext, createTestIssuer, runPlugin, type TestIssuer } from 'tollgate/testing';
import { blackHole, deadPort } from '../../identity/net';

const API = 'https://api.example';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function appWith(options: OidcOptions) {
  const plugin = oidc(options);
  const app = express();
  app.use(gateway(plugin));
  app.get('/', (req, res) => {
    const ctx = getContext(req);
    res.json({ consumer: ctx.consumer, credential: ctx.credential && { id: ctx.credential.id, type: ctx.credential.type, scopes: ctx.credential.scopes } });
  });
  return { app, plugin };
}

const logged: string[] = [];
beforeAll(() => setLogger({ debug() {}, info() {}, warn: (m, f) => void logged.push(m + JSON.stringify(f)), error: (m, f) => void logged.push(m + JSON.stringify(f)) }));
afterAll(() => setLogger(null));

describe('oidc bearer', () => {
  let idp: TestIssuer;
  beforeEach(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'svc', clientSecret: 's', scope: 'read:orders' }] });
  });
  afterEach(() => idp.close());
  const base = (): OidcOptions => ({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API });

  it('passes an Auth0 M2M token and sets the consumer (azp) and credential for later plugins', async () => {
    const { app } = appWith(base());
    const token = await idp.clientToken('svc', { audience: API });
    const res = await request(app).get('/').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ consumer: { id: 'svc' }, credential: { id: 'svc@clients', type: 'bearer', scopes: ['read:orders'] } });
  });

  it('accepts an audience list (any of them) and the .well-known URL as issuer', async () => {
    const { app } = appWith({ ...base(), issuer: idp.discoveryUrl, audience: ['https://other', API] });
    const res = await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: [API, 'x'] })}`);
    expect(res.status).toBe(200);
  });

  it('discovers and fetches keys once, then answers repeated tokens from the verified-token cache synchronously', async () => {
    const { app, plugin } = appWith(base());
    const token = await idp.sign({ aud: API, sub: 'u1' });
    for (let i = 0; i < 20; i++) expect((await request(app).get('/').set('authorization', `Bearer ${token}`)).status).toBe(200);
    expect(idp.requests).toMatchObject({ discovery: 1, jwks: 1 });
    // a cache hit does not return a promise: the pipeline stays synchronous
    const ctx = createTestContext({ headers: { authorization: `Bearer ${token}` } });
    expect(plugin.access!(ctx, {})).toBeUndefined();
    expect(ctx.consumer).toEqual({ id: 'u1' });
  });

  it('never serves a cached verification past the token exp', async () => {
    const { plugin } = appWith(base());
    const token = await idp.sign({ aud: API }, { expiresIn: 1 });
    const first = await runPlugin(plugin, createTestContext({ headers: { authorization: `Bearer ${token}` } }));
    expect(first.status).toBe(200);
    await sleep(1100);
    const later = await runPlugin(plugin, createTestContext({ headers: { authorization: `Bearer ${token}` } }));
    expect(later.status).toBe(401);
  });

  it('accepts a token signed with a newly published key without a restart', async () => {
    const { app } = appWith({ ...base(), rediscoveryLifetime: 0 });
    expect((await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: API })}`)).status).toBe(200);
    await idp.rotateKeys();
    const rotated = await idp.sign({ aud: API, sub: 'after-rotation' });
    const res = await request(app).get('/').set('authorization', `Bearer ${rotated}`);
    expect(res.status).toBe(200);
    expect(res.body.consumer).toEqual({ id: 'after-rotation' });
    expect(idp.requests.jwks).toBe(2);
  });

  it('stops accepting a token verified before, once the key that verified it leaves the JWKS', async () => {
    const { app } = appWith({ ...base(), rediscoveryLifetime: 0 });
    const old = await idp.sign({ aud: API, sub: 'old-key' }, { expiresIn: 3600 });
    expect((await request(app).get('/').set('authorization', `Bearer ${old}`)).status).toBe(200);
    // The issuer withdraws the key (compromised, say) and signs with a new one; a token with the
    // new kid makes the gateway refetch the keys.
    await idp.rotateKeys({ dropPrevious: true });
    expect((await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: API })}`)).status).toBe(200);
    expect(idp.requests.jwks).toBe(2);
    const res = await request(app).get('/').set('authorization', `Bearer ${old}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('re-verifies cached tokens once per jwksRefreshInterval, so a withdrawn key stops working without another trigger', async () => {
    const { app } = appWith({ ...base(), jwksRefreshInterval: 1, rediscoveryLifetime: 30 });
    const old = await idp.sign({ aud: API }, { expiresIn: 3600 });
    expect((await request(app).get('/').set('authorization', `Bearer ${old}`)).status).toBe(200);
    await idp.rotateKeys({ dropPrevious: true });
    await sleep(1100);
    // Past the refresh interval the cached verification is gone: verifying again refreshes the keys.
    await request(app).get('/').set('authorization', `Bearer ${old}`);
    for (let i = 0; i < 50 && idp.requests.jwks < 2; i++) await sleep(10);
    expect(idp.requests.jwks).toBe(2);
    expect((await request(app).get('/').set('authorization', `Bearer ${old}`)).status).toBe(401);
  });

  it('keeps a token whose key is still published, re-verified after a refresh', async () => {
    const { app } = appWith({ ...base(), jwksRefreshInterval: 1 });
    const token = await idp.sign({ aud: API });
    expect((await request(app).get('/').set('authorization', `Bearer ${token}`)).status).toBe(200);
    await idp.rotateKeys();
    await sleep(1100);
    for (let i = 0; i < 3; i++) expect((await request(app).get('/').set('authorization', `Bearer ${token}`)).status).toBe(200);
    expect(idp.requests.jwks).toBe(2);
  });

  it('rate-limits refetches caused by unknown kids', async () => {
    const { app } = appWith({ ...base(), rediscoveryLifetime: 30 });
    await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: API })}`);
    for (let i = 0; i < 10; i++) {
      const res = await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: API }, { kid: `random-${i}` })}`);
      expect(res.status).toBe(401);
    }
    expect(idp.requests.jwks).toBe(1);
  });

  it('keeps verifying with the last good keys while the issuer is down', async () => {
    const { plugin } = appWith({ ...base(), jwksRefreshInterval: 1, jwksStaleIfError: 3600 });
    await plugin.ready();
    idp.setOutage('error');
    await sleep(1100);
    const res = await runPlugin(plugin, createTestContext({ headers: { authorization: `Bearer ${await idp.sign({ aud: API })}` } }));
    expect(res.status).toBe(200);
  });

  it('answers 503 JSON quickly when nothing listens at the issuer', async () => {
    const port = await deadPort();
    const { app } = appWith({ issuer: `http://127.0.0.1:${port}/`, allowInsecureIssuer: true, audience: API });
    const started = Date.now();
    const res = await request(app).get('/').set('authorization', `Bearer ${await idp.sign({})}`);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ message: 'The identity provider is unreachable (discovery)' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers 503 at the timeout when the issuer accepts and never answers, never hangs', async () => {
    const hole = await blackHole();
    try {
      const { app } = appWith({ issuer: hole.url, allowInsecureIssuer: true, audience: API, timeout: 300 });
      const token = await idp.sign({});
      let started = Date.now();
      const res = await request(app).get('/').set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/json/);
      expect(Date.now() - started).toBeLessThan(2000);
      // within the backoff window the failure is answered from memory, without waiting again
      started = Date.now();
      expect((await request(app).get('/').set('authorization', `Bearer ${token}`)).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(250);
      expect(logged.join('\n')).not.toContain(token.split('.')[2]);
    } finally {
      await hole.close();
    }
  });

  it('answers 503 when the keys are needed and the JWKS endpoint hangs, while garbage still gets 401 at once', async () => {
    const hole = await blackHole();
    try {
      const { app } = appWith({ ...base(), jwksEndpoint: `${hole.url}jwks`, timeout: 300 });
      let started = Date.now();
      const res = await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: API })}`);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ message: 'The identity provider is unreachable (jwks)' });
      expect(Date.now() - started).toBeLessThan(2000);
      started = Date.now();
      expect((await request(app).get('/').set('authorization', 'Bearer nonsense')).status).toBe(401);
      expect(Date.now() - started).toBeLessThan(250);
    } finally {
      await hole.close();
    }
  });

  it('retries discovery after a failure instead of remembering it forever', async () => {
    idp.setOutage('error');
    const { app } = appWith(base());
    const token = await idp.sign({ aud: API });
    expect((await request(app).get('/').set('authorization', `Bearer ${token}`)).status).toBe(502);
    idp.setOutage('none');
    await sleep(1100);
    expect((await request(app).get('/').set('authorization', `Bearer ${token}`)).status).toBe(200);
  });

  it('reads access_token from the query only when allowed, and refuses two different tokens', async () => {
    const token = await idp.sign({ aud: API });
    const strict = appWith(base()).app;
    expect((await request(strict).get(`/?access_token=${token}`)).status).toBe(401);
    const lax = appWith({ ...base(), bearerTokenParamType: ['header', 'query'] }).app;
    expect((await request(lax).get(`/?access_token=${token}`)).status).toBe(200);
    const both = await request(lax).get(`/?access_token=${token}`).set('authorization', `Bearer ${await idp.sign({ aud: API, sub: 'other' })}`);
    expect(both.status).toBe(400);
    expect(both.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it('skips CORS preflight requests when runOnPreflight is false', async () => {
    const { plugin } = appWith({ ...base(), runOnPreflight: false });
    const preflight = await runPlugin(plugin, createTestContext({ method: 'OPTIONS', headers: { 'access-control-request-method': 'GET' } }));
    expect(preflight.status).toBe(200);
    const plain = await runPlugin(plugin, createTestContext({ method: 'OPTIONS' }));
    expect(plain.status).toBe(401);
  });
});
