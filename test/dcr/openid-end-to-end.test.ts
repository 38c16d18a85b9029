/**
 * End to end with RFC 7591: register a machine client at the real oidc-provider, then use its
 * credentials through `oidc({ authMethods: ['client_credentials'] })` in an Express gateway.
 */
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { oidc } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { openidRegistrar } from 'tollgate/dcr';
import { API, startRegistrationProvider, type RegistrationProvider } from './support/registration-provider';

const IAT = 'E2E-INITIAL-ACCESS-TOKEN-0cc175b9c0f1b6a8';
let op: RegistrationProvider;

beforeAll(async () => {
  op = await startRegistrationProvider({ initialAccessToken: IAT });
});
afterAll(async () => {
  await op.stop();
});

function gatewayApp(authMethod: 'client_secret_post' | 'client_secret_basic') {
  const app = express();
  app.use(
    '/api',
    gateway(
      oidc({
        issuer: op.issuer,
        authMethods: ['client_credentials'],
        tokenEndpointAuthMethod: authMethod,
        tokenPostArgs: { resource: API, scope: 'read:things' },
        // oidc-provider issues RFC 9068 tokens: the client id is in `client_id` (Auth0's is `azp`).
        consumerClaim: 'client_id',
        allowInsecureIssuer: true,
      }),
    ),
  );
  app.get('/api/whoami', (req, res) => {
    const ctx = getContext(req);
    res.json({ consumer: ctx.consumer?.id, scopes: ctx.credential?.scopes, upstreamAuth: req.headers.authorization?.split(' ')[0] });
  });
  return app;
}

describe('openidRegistrar end to end', () => {
  it.each(['client_secret_post', 'client_secret_basic'] as const)('registered %s credentials pass the gateway as their own consumer', async (method) => {
    const registrar = openidRegistrar({ issuer: op.issuer, initialAccessToken: IAT, allowInsecure: true, tokenEndpointAuthMethod: method });
    const app = gatewayApp(method);
    const first = await registrar.register({ name: `e2e ${method} one` });
    const second = await registrar.register({ name: `e2e ${method} two` });

    const a = await request(app).get('/api/whoami').auth(first.clientId, first.clientSecret).expect(200);
    expect(a.body).toEqual({ consumer: first.clientId, scopes: ['read:things'], upstreamAuth: 'Bearer' });
    const b = await request(app).get('/api/whoami').auth(second.clientId, second.clientSecret).expect(200);
    expect(b.body.consumer).toBe(second.clientId);

    const denied = await request(app).get('/api/whoami').auth(first.clientId, second.clientSecret).expect(401);
    expect(denied.body).toEqual({ message: 'Unauthorized' });
  });
});
