/**
 * End to end: a developer registers an application through the portal, and its credentials pass
 * the gateway route, against a loopback server shaped like an Auth0 tenant (Management API, token
 * endpoint issuing RS256 JWTs with `azp`, discovery, JWKS).
 */
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { auth0Registrar } from 'tollgate/dcr';
import { ALL_PERMISSIONS, Auth0Server } from '../../test/dcr/support/auth0-server';
import { createPortal } from './app';

const ADMIN = { clientId: 'portal-admin', clientSecret: 'PORTAL-ADMIN-SECRET-9e107d9d372bb6826bd8' };
const API = 'https://orders.api.test';
const PORTAL_TOKEN = 'portal-session';

let auth0: Auth0Server;
let portal: ReturnType<typeof createPortal>;
let logged: string[];
const allLogged: string[] = [];

beforeAll(async () => {
  auth0 = await new Auth0Server({ admin: { ...ADMIN, permissions: ALL_PERMISSIONS }, apis: [API] }).start();
  portal = createPortal({
    registrar: auth0Registrar({ domain: auth0.domain, ...ADMIN, audience: API, scopes: ['read:orders'], baseUrl: auth0.url, allowInsecure: true, maxRetryWait: 2000 }),
    issuer: auth0.issuer,
    audience: API,
    perMinute: 3,
    allowInsecureIssuer: true,
    developerOf: (req) => (req.get('x-portal-token') === PORTAL_TOKEN ? (req.get('x-developer-id') ?? 'anonymous') : undefined),
  });
});
afterAll(async () => {
  await auth0.stop();
});
beforeEach(() => {
  auth0.permissions = [...ALL_PERMISSIONS];
  logged = [];
  const capture = (...args: unknown[]) => {
    logged.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    allLogged.push(logged.at(-1)!);
  };
  jest.spyOn(console, 'error').mockImplementation(capture);
  jest.spyOn(console, 'warn').mockImplementation(capture);
});
afterEach(() => {
  jest.restoreAllMocks();
});

const createApp = (name: unknown, developer = 'dev_42') =>
  request(portal).post('/apps').set('x-portal-token', PORTAL_TOKEN).set('x-developer-id', developer).send({ name });

describe('developer portal example', () => {
  it('registers an application, answers its credentials once, and they pass the gateway as their own consumer', async () => {
    const created = await createApp('Billing sync').expect(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const { client_id: id, client_secret: secret } = created.body as { client_id: string; client_secret: string };
    expect(auth0.apps.get(id)).toMatchObject({ name: 'Billing sync', clientSecret: secret, metadata: { developer_id: 'dev_42' } });
    expect(auth0.grants.find((g) => g.client_id === id)).toMatchObject({ audience: API, scope: ['read:orders'] });

    const who = await request(portal).get('/api/whoami').auth(id, secret).expect(200);
    expect(who.body).toEqual({ application: id, scopes: ['read:orders'] });
    // The gateway exchanged the credentials at the token endpoint with the API audience, as Auth0 expects.
    expect(auth0.requests.filter((r) => r.path === '/oauth/token').map((r) => r.body)).toContainEqual({
      grant_type: 'client_credentials',
      client_id: id,
      client_secret: secret,
      audience: API,
    });
  });

  it('rate limits each registered application separately (consumerClaim: azp)', async () => {
    const a = (await createApp('App A').expect(201)).body as { client_id: string; client_secret: string };
    const b = (await createApp('App B', 'dev_7').expect(201)).body as { client_id: string; client_secret: string };
    for (let i = 0; i < 3; i++) await request(portal).get('/api/whoami').auth(a.client_id, a.client_secret).expect(200);
    const limited = await request(portal).get('/api/whoami').auth(a.client_id, a.client_secret).expect(429);
    expect(limited.body).toEqual({ message: 'API rate limit exceeded' });
    const other = await request(portal).get('/api/whoami').auth(b.client_id, b.client_secret).expect(200);
    expect(other.body.application).toBe(b.client_id);
  });

  it('refuses wrong credentials and an unknown developer', async () => {
    const app = (await createApp('Refused').expect(201)).body as { client_id: string };
    const denied = await request(portal).get('/api/whoami').auth(app.client_id, 'not-the-secret').expect(401);
    expect(denied.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    await request(portal).get('/api/whoami').expect(401);
    const before = auth0.apps.size;
    await request(portal).post('/apps').send({ name: 'x' }).expect(401);
    expect(auth0.apps.size).toBe(before);
  });

  it('answers 400 for an unusable name and 502 without details when Auth0 refuses', async () => {
    const bad = await createApp('').expect(400);
    expect(bad.body.message).toBe('auth0Registrar.register: "name" must be a non-empty string');
    const garbled = await request(portal).post('/apps').set('x-portal-token', PORTAL_TOKEN).set('content-type', 'application/json').send('{"name":').expect(400);
    expect(garbled.body).toEqual({ message: 'The request body is not valid JSON' });

    auth0.permissions = ALL_PERMISSIONS.filter((p) => p !== 'create:clients');
    const failed = await createApp('Denied').expect(502);
    expect(failed.body).toEqual({ message: 'Application registration failed' });
    expect(logged.join('\n')).toContain('POST /api/v2/clients answered 403 (insufficient_scope: Insufficient scope, expected any of: create:clients)');
  });

  it('answers 503 with Retry-After when Auth0 keeps rate limiting', async () => {
    auth0.script('POST /api/v2/clients', { status: 429, headers: { 'retry-after': '30' }, body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' } });
    const busy = await createApp('Busy').expect(503);
    expect(busy.headers['retry-after']).toBe('30');
  });

  it('never logs a secret', () => {
    expect(allLogged.length).toBeGreaterThan(0);
    for (const secret of [ADMIN.clientSecret, ...auth0.issuedSecrets, ...auth0.issuedTokens]) expect(allLogged.join('\n')).not.toContain(secret);
  });
});
