/**
 * Kong's consumer mapping in the OIDC plugin: a token's consumer claim looked up in a registry
 * (`oidc({ consumers, consumerBy, consumerOptional })`).
 */
import express from 'express';
import request from 'supertest';
import { consumers, oidc, type OidcOptions } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { configError } from '../../support/config-error';

const API = 'https://api.example';

describe('oidc consumer mapping', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'client-gold', clientSecret: 's' }, { clientId: 'client-other', clientSecret: 's' }] });
  });
  afterAll(() => idp.close());

  const registry = consumers([
    { username: 'gold', customId: 'client-gold' },
    { username: 'client-other-name', customId: 'unrelated' },
  ]);

  function app(options: Partial<OidcOptions>) {
    const a = express();
    a.use(gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API, authMethods: ['bearer', 'client_credentials'], ...options })));
    a.get('/', (req, res) => {
      const consumerHeaders = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-consumer-')));
      res.json({ consumer: getContext(req).consumer ?? null, consumerHeaders });
    });
    return a;
  }

  it('maps the claim to the registered consumer by custom_id and sends X-Consumer-* upstream', async () => {
    const token = await idp.clientToken('client-gold', { audience: API });
    const res = await request(app({ consumers: registry, consumerClaim: 'azp' })).get('/').set('authorization', `Bearer ${token}`).set('x-consumer-username', 'spoofed');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      consumer: { id: 'gold', username: 'gold', customId: 'client-gold' },
      consumerHeaders: { 'x-consumer-id': 'gold', 'x-consumer-custom-id': 'client-gold', 'x-consumer-username': 'gold' },
    });
  });

  it('maps tokens from the client-credentials exchange too', async () => {
    const basic = `Basic ${Buffer.from('client-gold:s').toString('base64')}`;
    const res = await request(app({ consumers: registry, consumerClaim: 'azp', tokenPostArgs: { audience: API } })).get('/').set('authorization', basic);
    expect(res.status).toBe(200);
    expect(res.body.consumer.id).toBe('gold');
  });

  it('answers 403 when the token maps to no consumer (Kong without consumer_optional)', async () => {
    const token = await idp.clientToken('client-other', { audience: API });
    const res = await request(app({ consumers: registry, consumerClaim: 'azp' })).get('/').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ message: 'Forbidden' });
  });

  it('lets such a token through without a consumer, and strips spoofed X-Consumer-* headers, with consumerOptional', async () => {
    const token = await idp.clientToken('client-other', { audience: API });
    const res = await request(app({ consumers: registry, consumerClaim: 'azp', consumerOptional: true })).get('/').set('authorization', `Bearer ${token}`).set('x-consumer-id', 'gold');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ consumer: null, consumerHeaders: {} });
  });

  it('compares only the fields consumerBy names, in order', async () => {
    const token = await idp.sign({ aud: API, sub: 'client-other-name' });
    const byCustomId = await request(app({ consumers: registry, consumerClaim: 'sub', consumerBy: ['custom_id'] })).get('/').set('authorization', `Bearer ${token}`);
    expect(byCustomId.status).toBe(403);
    const byUsername = await request(app({ consumers: registry, consumerClaim: 'sub', consumerBy: ['custom_id', 'username'] })).get('/').set('authorization', `Bearer ${token}`);
    expect(byUsername.body.consumer).toEqual({ id: 'client-other-name', username: 'client-other-name', customId: 'unrelated' });
  });

  it('keeps the claim value as the consumer id without a registry', async () => {
    const token = await idp.clientToken('client-other', { audience: API });
    const res = await request(app({})).get('/').set('authorization', `Bearer ${token}`);
    expect(res.body.consumer).toEqual({ id: 'client-other' });
  });

  it('refuses consumerBy and consumerOptional without consumers, and a registry it did not make', () => {
    const base = { issuer: 'https://idp.example/', audience: false as const };
    expect(configError(() => oidc({ ...base, consumerOptional: true })).option).toBe('consumerOptional');
    expect(configError(() => oidc({ ...base, consumerBy: ['username'] })).option).toBe('consumerBy');
    expect(configError(() => oidc({ ...base, consumers: { find: () => undefined } as never })).option).toBe('consumers');
    expect(configError(() => oidc({ ...base, consumers: registry, consumerBy: ['name' as never] })).option).toBe('consumerBy[0]');
  });
});
