import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from 'tollgate';
import { openidRegistrar, RegistrationError } from 'tollgate/dcr';
import { API, startRegistrationProvider, type RegistrationProvider } from './support/registration-provider';

const IAT = 'INITIAL-ACCESS-TOKEN-5f4dcc3b5aa765d61d83';

let op: RegistrationProvider;
let open: RegistrationProvider;
const produced: unknown[] = [];
const issuedSecrets: string[] = [];

beforeAll(async () => {
  [op, open] = await Promise.all([startRegistrationProvider({ initialAccessToken: IAT }), startRegistrationProvider({ registration: false })]);
});
afterAll(async () => {
  await Promise.all([op.stop(), open.stop()]);
});

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

/** A client-credentials token request at the provider, authenticated the given way. */
async function token(issuer: string, clientId: string, secret: string, method: 'post' | 'basic') {
  const form = new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'read:things' });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (method === 'post') {
    form.set('client_id', clientId);
    form.set('client_secret', secret);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  }
  const res = await fetch(`${issuer}/token`, { method: 'POST', headers, body: form });
  return { status: res.status, body: (await res.json()) as { access_token?: string; error?: string } };
}

describe('openidRegistrar.register', () => {
  it('registers a machine client whose credentials get client-credentials tokens', async () => {
    const registrar = openidRegistrar({ issuer: op.issuer, initialAccessToken: IAT, allowInsecure: true, scopes: ['read:things'] });
    const app = await registrar.register({ name: 'Billing sync' });
    issuedSecrets.push(app.clientSecret);

    expect(app).toEqual({
      clientId: expect.any(String),
      clientSecret: expect.any(String),
      registrationAccessToken: expect.any(String),
      registrationClientUri: `${op.issuer}/reg/${app.clientId}`,
      clientSecretExpiresAt: 0,
    });
    issuedSecrets.push(app.registrationAccessToken!);
    const stored = (await op.provider.Client.find(app.clientId))!.metadata();
    expect(stored).toMatchObject({
      client_name: 'Billing sync',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'read:things',
    });

    const got = await token(op.issuer, app.clientId, app.clientSecret, 'post');
    expect(got.status).toBe(200);
    expect(jose.decodeJwt(got.body.access_token!)).toMatchObject({ client_id: app.clientId, aud: API, scope: 'read:things', iss: op.issuer });
  });

  it('registers client_secret_basic clients when asked', async () => {
    const registrar = openidRegistrar({ issuer: op.issuer, initialAccessToken: IAT, allowInsecure: true, tokenEndpointAuthMethod: 'client_secret_basic' });
    const app = await registrar.register({ name: 'Basic client' });
    issuedSecrets.push(app.clientSecret, app.registrationAccessToken!);
    expect((await op.provider.Client.find(app.clientId))!.metadata()).toMatchObject({ token_endpoint_auth_method: 'client_secret_basic' });
    expect((await token(op.issuer, app.clientId, app.clientSecret, 'basic')).status).toBe(200);
  });

  it('answers ERR_DCR_UNAUTHORIZED naming the registration request when the initial access token is wrong', async () => {
    const registrar = openidRegistrar({ issuer: op.issuer, initialAccessToken: 'WRONG-IAT-0123456789abcdef', allowInsecure: true });
    const err = await failure(registrar.register({ name: 'x' }));
    expect(err).toMatchObject({ code: 'ERR_DCR_UNAUTHORIZED', request: 'POST /reg', upstreamStatus: 401, upstreamError: 'invalid_token' });
    expect(err.message).toMatch(/^openidRegistrar\.register: POST \/reg answered 401 \(invalid_token: /);
  });

  it('answers ERR_DCR_REQUEST_FAILED with the provider error for rejected metadata', async () => {
    const registrar = openidRegistrar({ issuer: op.issuer, initialAccessToken: IAT, allowInsecure: true, scopes: ['delete:everything'] });
    const err = await failure(registrar.register({ name: 'x' }));
    expect(err).toMatchObject({ code: 'ERR_DCR_REQUEST_FAILED', upstreamStatus: 400, upstreamError: 'invalid_client_metadata' });
    expect(err.message).toBe('openidRegistrar.register: POST /reg answered 400 (invalid_client_metadata: scope must only contain Authorization Server supported scope values)');
  });

  it('says so when the provider has no registration endpoint', async () => {
    const err = await failure(openidRegistrar({ issuer: open.issuer, allowInsecure: true }).register({ name: 'x' }));
    expect(err.code).toBe('ERR_DCR_REQUEST_FAILED');
    expect(err.message).toBe("openidRegistrar.register: the provider's discovery document advertises no usable registration_endpoint (is RFC 7591 registration enabled?)");
  });

  it('answers ERR_DCR_UNREACHABLE when the provider is down', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(openidRegistrar({ issuer, allowInsecure: true }).register({ name: 'x' }));
    expect(err.code).toBe('ERR_DCR_UNREACHABLE');
    expect(err.message).toBe('openidRegistrar.register: GET /.well-known/openid-configuration failed: the provider is unreachable or did not answer in time');
  });

  it('answers ERR_DCR_UNREACHABLE when the provider does not answer within the timeout', async () => {
    const hang = http.createServer(() => {});
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const err = await failure(openidRegistrar({ issuer: `http://127.0.0.1:${(hang.address() as AddressInfo).port}`, allowInsecure: true, timeout: 300 }).register({ name: 'x' }));
      expect(Date.now() - started).toBeLessThan(900);
      expect(err).toMatchObject({ code: 'ERR_DCR_UNREACHABLE', request: 'GET /.well-known/openid-configuration' });
    } finally {
      hang.closeAllConnections();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });

  it('rejects unusable arguments before sending anything', async () => {
    const err = await failure(openidRegistrar({ issuer: op.issuer, allowInsecure: true }).register({ name: ' ' }));
    expect(err).toMatchObject({ code: 'ERR_DCR_INVALID_REQUEST', status: 400, expose: true });
  });
});

describe('openidRegistrar options', () => {
  it('throws ConfigError naming the option', () => {
    expect(() => openidRegistrar({ issuer: 'http://127.0.0.1:1' })).toThrow('openidRegistrar: "issuer" is plain http; set "allowInsecure": true to allow it (local development and tests only)');
    expect(() => openidRegistrar({ issuer: 'not a url' })).toThrow(ConfigError);
    expect(() => openidRegistrar({ issuer: 'https://id.example', tokenEndpointAuthMethod: 'none' as never })).toThrow(
      'openidRegistrar: "tokenEndpointAuthMethod" must be one of "client_secret_post", "client_secret_basic", got "none"',
    );
  });

  it('keeps the initial access token out of the registrar object', () => {
    const r = openidRegistrar({ issuer: op.issuer, initialAccessToken: IAT, allowInsecure: true });
    expect(inspect(r, { depth: Infinity, showHidden: true })).not.toContain(IAT);
  });
});

describe('openidRegistrar errors', () => {
  it('never carry a secret or a token', () => {
    expect(produced.length).toBeGreaterThanOrEqual(5);
    for (const err of produced) {
      const e = err as Error;
      const text = [inspect(err, { depth: Infinity, showHidden: true }), JSON.stringify(err), JSON.stringify({ message: e.message, cause: e.cause })].join('\n');
      for (const secret of [IAT, 'WRONG-IAT-0123456789abcdef', ...issuedSecrets]) expect(text).not.toContain(secret);
    }
  });
});
