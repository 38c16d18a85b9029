import express from 'express';
import request from 'supertest';
import { decodeJwt } from 'jose';
import { oidc, type OidcOptions } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { startOidcProvider, type OidcProviderFixture } from '../../support/oidc-provider';

describe('oidc against the real oidc-provider (RFC 8707 resource indicators)', () => {
  let op: OidcProviderFixture;
  beforeAll(async () => {
    op = await startOidcProvider();
  });
  afterAll(() => op.stop());

  function app(extra: Partial<OidcOptions> = {}) {
    const a = express();
    a.use(gateway(oidc({ issuer: op.issuer, allowInsecureIssuer: true, audience: op.api, rediscoveryLifetime: 0, ...extra })));
    a.get('/', (req, res) => {
      const ctx = getContext(req);
      res.json({ authorization: req.headers.authorization, consumer: ctx.consumer, credential: { type: ctx.credential?.type, scopes: ctx.credential?.scopes } });
    });
    return a;
  }

  it('verifies its RFC 9068 JWT access tokens and names the consumer by client_id', async () => {
    const token = await op.token({ resource: op.api, scope: 'read:things' });
    const res = await request(app({ scopesRequired: ['read:things'] })).get('/').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.consumer).toEqual({ id: op.client.clientId });
    expect(res.body.credential).toEqual({ type: 'bearer', scopes: ['read:things'] });
    const denied = await request(app({ scopesRequired: ['write:things'] })).get('/').set('authorization', `Bearer ${token}`);
    expect(denied.status).toBe(403);
  });

  it('refuses a token for another resource and a tampered one', async () => {
    const token = await op.token({ resource: op.api });
    expect((await request(app({ audience: 'https://elsewhere.test' })).get('/').set('authorization', `Bearer ${token}`)).status).toBe(401);
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: 'admin' })).toString('base64url')}.${s}`;
    expect(p).not.toBe(tampered.split('.')[1]);
    expect((await request(app()).get('/').set('authorization', `Bearer ${tampered}`)).status).toBe(401);
  });

  it('exchanges client credentials with tokenPostArgs resource (client_secret_post and basic)', async () => {
    const viaPost = app({ authMethods: ['client_credentials'], tokenPostArgs: { resource: op.api } });
    const res = await request(viaPost).get('/').auth(op.postClient.clientId, op.postClient.clientSecret);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.authorization.slice('Bearer '.length))).toMatchObject({ aud: op.api, client_id: op.postClient.clientId, iss: op.issuer });
    expect(res.body.credential.type).toBe('client_credentials');

    const viaBasic = app({ authMethods: ['client_credentials'], tokenPostArgs: { resource: op.api }, tokenEndpointAuthMethod: 'client_secret_basic' });
    expect((await request(viaBasic).get('/').auth(op.client.clientId, op.client.clientSecret)).status).toBe(200);
    const wrong = await request(viaBasic).get('/').auth(op.client.clientId, 'wrong-secret');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ message: 'Unauthorized' });
  });

  it('sends one token request for concurrent first requests', async () => {
    const a = app({ authMethods: ['client_credentials'], tokenPostArgs: { resource: op.api } });
    const before = op.requests.token;
    const all = await Promise.all(Array.from({ length: 10 }, () => request(a).get('/').auth(op.client.clientId, op.client.clientSecret)));
    expect(all.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(op.requests.token - before).toBe(1);
  });

  it('introspects its opaque tokens', async () => {
    const a = app({
      // oidc-provider's opaque tokens without a resource indicator carry no audience
      audience: false,
      authMethods: ['bearer', 'introspection'],
      introspection: { clientId: op.client.clientId, clientSecret: op.client.clientSecret },
    });
    const opaque = await op.token();
    expect(opaque.split('.')).toHaveLength(1);
    const res = await request(a).get('/').set('authorization', `Bearer ${opaque}`);
    expect(res.status).toBe(200);
    expect(res.body.credential.type).toBe('introspection');
    expect(res.body.consumer).toEqual({ id: op.client.clientId });
    expect((await request(a).get('/').set('authorization', `Bearer ${opaque}x`)).status).toBe(401);
  });

  it('accepts tokens signed after a key rotation without a restart', async () => {
    const a = app();
    expect((await request(a).get('/').set('authorization', `Bearer ${await op.token({ resource: op.api })}`)).status).toBe(200);
    const kid = await op.rotateKeys();
    const rotated = await op.token({ resource: op.api });
    expect(JSON.parse(Buffer.from(rotated.split('.')[0]!, 'base64url').toString()).kid).toBe(kid);
    expect((await request(a).get('/').set('authorization', `Bearer ${rotated}`)).status).toBe(200);
  });
});
