import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import * as jose from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from 'tollgate';
import { auth0Registrar, RegistrationError, type Auth0RegistrarOptions } from 'tollgate/dcr';
import { ALL_PERMISSIONS, Auth0Server } from './support/auth0-server';

const ADMIN = { clientId: 'admin-app', clientSecret: 'ADMIN-SECRET-d41d8cd98f00b204e980' };
const API = 'https://orders.api.test';

let auth0: Auth0Server;
/** Every error a test provoked, checked for secrets at the end. */
const produced: unknown[] = [];

beforeAll(async () => {
  auth0 = await new Auth0Server({ admin: { ...ADMIN, permissions: ALL_PERMISSIONS }, apis: [API] }).start();
});
afterAll(async () => {
  await auth0.stop();
});
beforeEach(() => {
  auth0.permissions = [...ALL_PERMISSIONS];
  auth0.requests.length = 0;
});

function registrar(extra: Partial<Auth0RegistrarOptions> = {}) {
  return auth0Registrar({ domain: auth0.domain, ...ADMIN, audience: API, scopes: ['read:orders'], baseUrl: auth0.url, allowInsecure: true, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<RegistrationError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  produced.push(err);
  expect(err).toBeInstanceOf(RegistrationError);
  return err as RegistrationError;
}

/** Asks the Auth0-shaped server for a token as a registered application would. */
async function tokenFor(clientId: string, clientSecret: string) {
  const res = await fetch(`${auth0.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, audience: API }),
  });
  return { status: res.status, body: (await res.json()) as { access_token?: string; error?: string } };
}

describe('auth0Registrar.register', () => {
  it('creates a machine-to-machine application, grants it the API and answers working credentials', async () => {
    const app = await registrar().register({ name: 'Billing sync', description: 'Nightly export', metadata: { developer_id: 'dev_42' } });

    const [tokenReq, createReq, grantReq] = auth0.requests;
    expect(tokenReq).toMatchObject({ method: 'POST', path: '/oauth/token' });
    expect(tokenReq!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(tokenReq!.headers.authorization).toBeUndefined();
    expect(tokenReq!.body).toEqual({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.clientSecret, audience: `https://${auth0.domain}/api/v2/` });

    expect(createReq).toMatchObject({ method: 'POST', path: '/api/v2/clients' });
    expect(createReq!.headers.authorization).toMatch(/^Bearer \S+$/);
    expect(createReq!.body).toEqual({
      name: 'Billing sync',
      description: 'Nightly export',
      app_type: 'non_interactive',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_post',
      client_metadata: { developer_id: 'dev_42' },
    });
    expect(grantReq).toMatchObject({ method: 'POST', path: '/api/v2/client-grants' });
    expect(grantReq!.headers.authorization).toBe(createReq!.headers.authorization);
    expect(grantReq!.body).toEqual({ client_id: app.clientId, audience: API, scope: ['read:orders'] });

    expect(app).toEqual({ clientId: expect.any(String), clientSecret: auth0.apps.get(app.clientId)!.clientSecret });
    const token = await tokenFor(app.clientId, app.clientSecret);
    expect(token.status).toBe(200);
    expect(jose.decodeJwt(token.body.access_token!)).toMatchObject({ azp: app.clientId, aud: API, scope: 'read:orders', sub: `${app.clientId}@clients` });
  });

  it('shares one cached Management token between calls', async () => {
    const r = registrar();
    const a = await r.register({ name: 'one' });
    await r.register({ name: 'two' });
    await r.rotateSecret(a.clientId);
    await r.remove(a.clientId);
    expect(auth0.count('POST /oauth/token')).toBe(1);
    const bearers = new Set(auth0.requests.filter((q) => q.path.startsWith('/api/v2/')).map((q) => q.headers.authorization));
    expect(bearers.size).toBe(1);
  });

  it('names the request and the missing permission when Auth0 answers 403', async () => {
    auth0.permissions = ALL_PERMISSIONS.filter((p) => p !== 'create:clients');
    const before = auth0.apps.size;
    const err = await failure(registrar().register({ name: 'denied' }));
    expect(err.code).toBe('ERR_DCR_FORBIDDEN');
    expect(err.message).toBe('auth0Registrar.register: POST /api/v2/clients answered 403 (insufficient_scope: Insufficient scope, expected any of: create:clients)');
    expect(err).toMatchObject({ operation: 'auth0Registrar.register', request: 'POST /api/v2/clients', upstreamStatus: 403, upstreamError: 'insufficient_scope', status: 502, expose: false });
    expect(auth0.apps.size).toBe(before);
  });

  it('deletes the half-made application when the grant fails', async () => {
    auth0.permissions = ALL_PERMISSIONS.filter((p) => p !== 'create:client_grants');
    const before = auth0.apps.size;
    const err = await failure(registrar().register({ name: 'half' }));
    expect(err.code).toBe('ERR_DCR_FORBIDDEN');
    expect(err.message).toMatch(/^auth0Registrar\.register: POST \/api\/v2\/client-grants answered 403 \(insufficient_scope: Insufficient scope, expected any of: create:client_grants\); the half-made application \S+ was deleted$/);
    expect(err.orphanedClientId).toBeUndefined();
    expect(auth0.requests.map((q) => q.method + ' ' + q.path.replace(/clients\/[^/]+/, 'clients/:id'))).toEqual([
      'POST /oauth/token',
      'POST /api/v2/clients',
      'POST /api/v2/client-grants',
      'DELETE /api/v2/clients/:id',
    ]);
    expect(auth0.apps.size).toBe(before);
  });

  it('names the orphaned application when the cleanup fails too', async () => {
    auth0.permissions = ALL_PERMISSIONS.filter((p) => p !== 'create:client_grants' && p !== 'delete:clients');
    const err = await failure(registrar().register({ name: 'orphan' }));
    expect(err.code).toBe('ERR_DCR_FORBIDDEN');
    expect(err.orphanedClientId).toEqual(expect.any(String));
    expect(auth0.apps.has(err.orphanedClientId!)).toBe(true);
    expect(err.message).toContain(`the half-made application ${err.orphanedClientId} could not be deleted (auth0Registrar.register: DELETE /api/v2/clients/${err.orphanedClientId} answered 403 (insufficient_scope: Insufficient scope, expected any of: delete:clients)): delete it by hand`);
  });

  it('retries a 429 after the Retry-After Auth0 gives', async () => {
    auth0.script('POST /api/v2/clients', { status: 429, headers: { 'retry-after': '1' }, body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' } });
    const started = Date.now();
    const app = await registrar().register({ name: 'patient' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(auth0.count('POST /api/v2/clients')).toBe(2);
    expect(auth0.apps.has(app.clientId)).toBe(true);
  });

  it('retries a 429 at X-RateLimit-Reset when there is no Retry-After', async () => {
    const reset = Math.floor(Date.now() / 1000) + 1;
    auth0.script('POST /api/v2/client-grants', { status: 429, headers: { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } });
    await registrar().register({ name: 'reset' });
    expect(Date.now()).toBeGreaterThanOrEqual(reset * 1000 - 50);
    expect(auth0.count('POST /api/v2/client-grants')).toBe(2);
  });

  it('gives up after maxRetries and says how long Auth0 asked to wait', async () => {
    auth0.script('POST /api/v2/clients', { status: 429, headers: { 'retry-after': '0' } }, 3);
    const err = await failure(registrar({ maxRetries: 2 }).register({ name: 'busy' }));
    expect(err.code).toBe('ERR_DCR_RATE_LIMITED');
    expect(err.message).toBe('auth0Registrar.register: POST /api/v2/clients answered 429');
    expect(err).toMatchObject({ status: 503, retryAfter: 0, headers: { 'Retry-After': '0' } });
    expect(auth0.count('POST /api/v2/clients')).toBe(3);
  });

  it('fails at once when Auth0 asks for a longer wait than maxRetryWait', async () => {
    auth0.script('POST /api/v2/clients', { status: 429, headers: { 'retry-after': '120' } });
    const started = Date.now();
    const err = await failure(registrar({ maxRetryWait: 5000 }).register({ name: 'later' }));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({ code: 'ERR_DCR_RATE_LIMITED', retryAfter: 120, headers: { 'Retry-After': '120' } });
    expect(auth0.count('POST /api/v2/clients')).toBe(1);
  });

  it('retries a rate-limited Management token request', async () => {
    auth0.script('POST /oauth/token', { status: 429, headers: { 'retry-after': '0' }, body: { error: 'too_many_requests', error_description: 'Global limit has been reached' } });
    await registrar().register({ name: 'token-429' });
    expect(auth0.count('POST /oauth/token')).toBe(2);
  });

  it('says the admin credentials were refused when the token endpoint answers 401', async () => {
    const err = await failure(registrar({ clientSecret: 'WRONG-ADMIN-SECRET-1234567' }).register({ name: 'x' }));
    expect(err.code).toBe('ERR_DCR_UNAUTHORIZED');
    expect(err.message).toBe('auth0Registrar.register: POST /oauth/token answered 401 (access_denied: Unauthorized)');
    expect(auth0.count('POST /api/v2/clients')).toBe(0);
  });

  it('says the admin application is not authorised for the Management API when the token endpoint answers 403', async () => {
    auth0.script('POST /oauth/token', { status: 403, body: { error: 'access_denied', error_description: `Client is not authorized to access "https://${auth0.domain}/api/v2/".` } });
    const err = await failure(registrar().register({ name: 'x' }));
    expect(err.code).toBe('ERR_DCR_FORBIDDEN');
    expect(err.message).toBe(`auth0Registrar.register: POST /oauth/token answered 403 (access_denied: Client is not authorized to access "https://${auth0.domain}/api/v2/".)`);
  });

  it('gets a fresh Management token once when the cached one is refused', async () => {
    const r = registrar();
    await r.register({ name: 'first' });
    auth0.revokeManagementTokens();
    await r.register({ name: 'second' });
    expect(auth0.count('POST /oauth/token')).toBe(2);
    expect(auth0.count('POST /api/v2/clients')).toBe(3);
  });

  it('answers a 502-class error naming the request for other refusals', async () => {
    auth0.script('POST /api/v2/clients', { status: 400, body: { statusCode: 400, error: 'Bad Request', message: "Payload validation error: 'String is too long (300 chars)' on property name.", errorCode: 'invalid_body' } });
    const err = await failure(registrar().register({ name: 'long' }));
    expect(err).toMatchObject({ code: 'ERR_DCR_REQUEST_FAILED', status: 502, upstreamStatus: 400, upstreamError: 'invalid_body' });
    expect(err.message).toBe("auth0Registrar.register: POST /api/v2/clients answered 400 (invalid_body: Payload validation error: 'String is too long (300 chars)' on property name.)");
  });

  it('rejects unusable arguments before sending anything', async () => {
    const r = registrar();
    const cases: [unknown, RegExp][] = [
      [{ name: '' }, /"name" must be a non-empty string/],
      [{ name: 'x', metadata: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])) }, /at most 10 keys, got 11/],
      [{ name: 'x', metadata: { n: 1 } }, /"metadata\.n" must be a string/],
      [{ name: 'x', scopes: ['a'] }, /unknown field "scopes"/],
    ];
    for (const [input, message] of cases) {
      const err = await failure(r.register(input as never));
      expect(err).toMatchObject({ code: 'ERR_DCR_INVALID_REQUEST', status: 400, expose: true });
      expect(err.message).toMatch(message);
    }
    expect(auth0.requests).toHaveLength(0);
  });
});

describe('auth0Registrar.rotateSecret and remove', () => {
  it('rotates the secret: the new one gets tokens, the old one no longer does', async () => {
    const r = registrar();
    const app = await r.register({ name: 'rotating' });
    const secret = await r.rotateSecret(app.clientId);
    expect(secret).not.toBe(app.clientSecret);
    expect(auth0.requests.at(-1)).toMatchObject({ method: 'POST', path: `/api/v2/clients/${app.clientId}/rotate-secret` });
    expect((await tokenFor(app.clientId, secret)).status).toBe(200);
    expect((await tokenFor(app.clientId, app.clientSecret)).status).toBe(401);
  });

  it('removes the application', async () => {
    const r = registrar();
    const app = await r.register({ name: 'doomed' });
    await r.remove(app.clientId);
    expect(auth0.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/api/v2/clients/${app.clientId}` });
    expect(auth0.apps.has(app.clientId)).toBe(false);
    expect((await tokenFor(app.clientId, app.clientSecret)).status).toBe(401);
  });

  it('answers ERR_DCR_NOT_FOUND for an application that does not exist', async () => {
    const r = registrar();
    const rotate = await failure(r.rotateSecret('nope'));
    expect(rotate.code).toBe('ERR_DCR_NOT_FOUND');
    expect(rotate.message).toBe('auth0Registrar.rotateSecret: POST /api/v2/clients/nope/rotate-secret answered 404 (inexistent_client: The client does not exist)');
    const remove = await failure(r.remove('nope'));
    expect(remove.message).toBe('auth0Registrar.remove: DELETE /api/v2/clients/nope answered 404 (inexistent_client: The client does not exist)');
    expect((await failure(r.remove(''))).code).toBe('ERR_DCR_INVALID_REQUEST');
  });
});

describe('auth0Registrar when Auth0 cannot be reached', () => {
  it('answers ERR_DCR_UNREACHABLE for a closed port', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(registrar({ baseUrl: url }).register({ name: 'x' }));
    expect(err.code).toBe('ERR_DCR_UNREACHABLE');
    expect(err.message).toBe('auth0Registrar.register: POST /oauth/token failed: Auth0 is unreachable or did not answer in time');
  });

  it('answers ERR_DCR_UNREACHABLE when a Management API request outlives the timeout', async () => {
    const r = registrar({ timeout: 300 });
    await r.register({ name: 'warm' }); // caches the Management token
    auth0.script('POST /api/v2/clients', { status: 201, body: {}, delay: 1500 });
    const started = Date.now();
    const err = await failure(r.register({ name: 'slow' }));
    expect(Date.now() - started).toBeLessThan(1200);
    expect(err.code).toBe('ERR_DCR_UNREACHABLE');
    expect(err.message).toBe('auth0Registrar.register: POST /api/v2/clients got no answer within 300 ms');
  });

  it('answers ERR_DCR_UNREACHABLE when the token request outlives the timeout', async () => {
    auth0.script('POST /oauth/token', { status: 500, delay: 1500 });
    const err = await failure(registrar({ timeout: 300 }).register({ name: 'slow' }));
    expect(err.code).toBe('ERR_DCR_UNREACHABLE');
    expect(err.request).toBe('POST /oauth/token');
  });

  it('does not follow redirects away from the tenant', async () => {
    const r = registrar();
    auth0.script('POST /api/v2/clients', { status: 307, headers: { location: 'http://127.0.0.1:9/elsewhere' } });
    const err = await failure(r.register({ name: 'x' }));
    expect(err).toMatchObject({ code: 'ERR_DCR_REQUEST_FAILED', upstreamStatus: 307 });
    expect(err.message).toBe('auth0Registrar.register: POST /api/v2/clients answered 307');
  });
});

describe('auth0Registrar options', () => {
  it('throws ConfigError naming the option', () => {
    const base = { domain: 'acme.us.auth0.com', ...ADMIN, audience: API };
    expect(() => auth0Registrar({ ...base, audience: undefined as never })).toThrow('auth0Registrar: "audience" is required (a non-empty string)');
    expect(() => auth0Registrar({ ...base, domain: 'https://acme.us.auth0.com/tenant' })).toThrow(ConfigError);
    expect(() => auth0Registrar({ ...base, baseUrl: 'http://127.0.0.1:1' })).toThrow('auth0Registrar: "baseUrl" is plain http; set "allowInsecure": true to allow it (tests only)');
    expect(() => auth0Registrar({ ...base, scope: ['x'] } as never)).toThrow('auth0Registrar: unknown option "scope" (did you mean "scopes"?)');
    expect(() => auth0Registrar({ ...base, scopes: ['read orders'] })).toThrow('auth0Registrar: "scopes[0]" must be a scope without spaces, got "read orders"');
    let secretError: unknown;
    try {
      auth0Registrar({ ...base, clientSecret: 42 as never });
    } catch (err) {
      secretError = err;
    }
    expect(String((secretError as Error).message)).toBe('auth0Registrar: "clientSecret" must be a non-empty string, got a number');
  });

  it('normalises the domain so the Management audience has one slash', () => {
    for (const domain of ['acme.us.auth0.com', 'https://acme.us.auth0.com', 'https://acme.us.auth0.com/']) {
      expect(auth0Registrar({ domain, ...ADMIN, audience: API }).config).toMatchObject({ domain: 'acme.us.auth0.com', baseUrl: 'https://acme.us.auth0.com' });
    }
  });

  it('keeps the admin secret out of the registrar object', () => {
    const r = registrar();
    expect(inspect(r, { depth: Infinity, showHidden: true })).not.toContain(ADMIN.clientSecret);
    expect(JSON.stringify(r)).not.toContain(ADMIN.clientSecret);
  });
});

describe('auth0Registrar errors', () => {
  it('never carry a secret or a token', () => {
    expect(produced.length).toBeGreaterThan(15);
    const secrets = [
      ADMIN.clientSecret,
      'WRONG-ADMIN-SECRET-1234567',
      ...auth0.issuedSecrets,
      ...auth0.issuedTokens,
    ];
    for (const err of produced) {
      const e = err as Error;
      const text = [
        inspect(err, { depth: Infinity, showHidden: true }),
        JSON.stringify(err),
        JSON.stringify({ message: e.message, cause: e.cause }),
        inspect(e.cause, { depth: Infinity, showHidden: true }),
      ].join('\n');
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
