import express from 'express';
import request from 'supertest';
import { setLogger, upstreamProxy, type UpstreamProxyOptions, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { closedPort, listen, readAll, type Running } from './servers';

describe('upstreamProxy auth.clientCredentials', () => {
  let idp: Running;
  let backend: Running;
  let forms: URLSearchParams[] = [];
  /** Tokens the backend accepts. */
  const valid = new Set<string>();
  const seenByBackend: string[] = [];
  const plugins: UpstreamProxyPlugin[] = [];
  const logged: string[] = [];

  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn: (m) => void logged.push(m), error: (m) => void logged.push(m) });
    idp = await listen(async (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        res.end(JSON.stringify({ issuer: `${idp.url}/`, token_endpoint: `${idp.url}/oauth/token`, jwks_uri: `${idp.url}/jwks` }));
        return;
      }
      const form = new URLSearchParams((await readAll(req)).toString('utf8'));
      forms.push(form);
      if (form.get('client_id') !== 'gateway' || form.get('client_secret') !== 's3cret') {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: 'invalid_client', error_description: 'Bad client credentials' }));
        return;
      }
      // Slow enough that concurrent requests overlap the fetch.
      await new Promise((r) => setTimeout(r, 50));
      res.end(JSON.stringify({ access_token: `tok-${forms.length}`, token_type: 'Bearer', expires_in: 3600 }));
    });
    backend = await listen(async (req, res) => {
      const body = await readAll(req);
      const auth = req.headers.authorization ?? '';
      seenByBackend.push(auth);
      if (!valid.has(auth.replace(/^Bearer /, ''))) {
        res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        res.end('{"message":"Unauthorized"}');
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ auth, body: body.toString('utf8') }));
    });
  });
  afterEach(() => {
    for (const p of plugins.splice(0)) p.close();
    forms = [];
    valid.clear();
    seenByBackend.length = 0;
    logged.length = 0;
  });
  afterAll(async () => {
    setLogger(null);
    await Promise.all([idp.close(), backend.close()]);
  });

  const app = (clientCredentials: Partial<NonNullable<UpstreamProxyOptions['auth']>['clientCredentials']> = {}) => {
    const plugin = upstreamProxy({
      url: backend.url,
      auth: {
        clientCredentials: {
          tokenUrl: `${idp.url}/oauth/token`,
          clientId: 'gateway',
          clientSecret: 's3cret',
          scopes: ['read:orders', 'write:orders'],
          tokenPostArgs: { audience: 'https://orders.example.com' },
          ...clientCredentials,
        },
      },
    });
    plugins.push(plugin);
    const a = express();
    a.use('/orders', gateway(plugin));
    return { app: a, plugin };
  };

  it('fetches one token for many concurrent requests and sends it instead of the client Authorization', async () => {
    valid.add('tok-1');
    const { app: a, plugin } = app();
    const results = await Promise.all(Array.from({ length: 25 }, () => request(a).get('/orders/1').set('Authorization', 'Bearer client-token')));
    expect(results.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(new Set(seenByBackend)).toEqual(new Set(['Bearer tok-1']));
    expect(plugin.tokenRequests()).toBe(1);
    expect(forms).toHaveLength(1);
    expect(Object.fromEntries(forms[0]!)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'gateway',
      client_secret: 's3cret',
      audience: 'https://orders.example.com',
      scope: 'read:orders write:orders',
    });
  });

  it('retries once with a fresh token when the backend answers 401, then keeps the new token', async () => {
    valid.add('tok-1');
    const { app: a, plugin } = app();
    expect((await request(a).get('/orders/1')).status).toBe(200);
    // The backend stops accepting the first token (rotated keys, revoked grant…).
    valid.clear();
    valid.add('tok-2');
    const res = await request(a).get('/orders/2');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ auth: 'Bearer tok-2', body: '' });
    expect(seenByBackend).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
    expect((await request(a).get('/orders/3')).status).toBe(200);
    expect(plugin.tokenRequests()).toBe(2);
  });

  it('replays a body that was read into memory, but passes a 401 through for a streamed body', async () => {
    // No token is accepted yet: the streamed POST gets a 401 with tok-1.
    const { app: a, plugin } = app();
    const streamed = await request(a).post('/orders').set('Content-Type', 'text/plain').send('streamed');
    expect(streamed.status).toBe(401);
    expect(streamed.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(plugin.tokenRequests()).toBe(1);

    const parsed = express();
    parsed.use(express.json());
    parsed.use(gateway(plugin));
    valid.add('tok-2');
    const replayed = await request(parsed).post('/orders').send({ item: 'book' });
    expect(replayed.status).toBe(200);
    expect(JSON.parse((replayed.body as { body: string }).body)).toEqual({ item: 'book' });
    expect(seenByBackend).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
  });

  it('finds the token endpoint by discovery with issuer', async () => {
    valid.add('tok-1');
    const { app: a } = app({ tokenUrl: undefined, issuer: idp.url, authMethod: 'client_secret_post' });
    const res = await request(a).get('/orders/1');
    expect(res.status).toBe(200);
    expect(res.body.auth).toBe('Bearer tok-1');
  });

  it('answers 500 when the identity provider rejects the gateway credentials, without leaking them', async () => {
    const { app: a } = app({ clientSecret: 'wrong' });
    const res = await request(a).get('/orders/1');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ message: 'An unexpected error occurred' });
    expect(seenByBackend).toHaveLength(0);
    expect(logged.join('\n')).toContain('rejected the gateway');
    expect(logged.join('\n')).not.toContain('wrong');
  });

  it('answers 503 when the identity provider is unreachable', async () => {
    const { app: a } = app({ tokenUrl: `http://127.0.0.1:${await closedPort()}/oauth/token` });
    const res = await request(a).get('/orders/1');
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/identity provider/i);
  });
});
