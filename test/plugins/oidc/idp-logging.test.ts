/**
 * When the identity provider cannot be reached, the log says why — connection refused, a DNS name
 * that does not resolve, a certificate that does not verify — and never carries a secret or token.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { oidc, setLogger, type OidcOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { deadPort } from '../../identity/net';

const API = 'https://api.example';
const SECRET = 'never-in-a-log-line';

describe('oidc identity provider failures in the log', () => {
  let idp: TestIssuer;
  let lines: string[];
  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'app', clientSecret: SECRET, audience: API }] });
  });
  afterAll(() => idp.close());
  beforeEach(() => {
    lines = [];
    const capture = (message: string, fields?: Record<string, unknown>) => void lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
    setLogger({ debug: capture, info: capture, warn: capture, error: capture });
  });
  afterEach(() => setLogger(null));

  const app = (options: Partial<OidcOptions>) => {
    const a = express();
    a.use(gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API, timeout: 3000, ...options })));
    a.get('/', (_req, res) => void res.json({ ok: true }));
    return a;
  };
  const logged = () => lines.join('\n');

  it('logs a refused connection with its code, and neither the client secret nor the token', async () => {
    const port = await deadPort();
    const res = await request(app({ authMethods: ['client_credentials'], tokenEndpoint: `http://127.0.0.1:${port}/oauth/token` })).get('/').auth('app', SECRET);
    expect(res.status).toBe(503);
    expect(logged()).toMatch(/fetch failed.*ECONNREFUSED/);
    expect(logged()).toContain(`127.0.0.1:${port}`);
    expect(logged()).not.toContain(SECRET);
    expect(logged()).not.toContain(Buffer.from(`app:${SECRET}`).toString('base64'));
  });

  it('logs a name that does not resolve', async () => {
    const token = await idp.sign({ aud: API });
    const res = await request(app({ issuer: 'https://tollgate-idp.invalid/' })).get('/').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(503);
    expect(logged()).toMatch(/getaddrinfo (ENOTFOUND|EAI_AGAIN) tollgate-idp\.invalid/);
    expect(logged()).not.toContain(token.split('.')[2]);
  });

  it('logs a certificate that does not verify', async () => {
    // A self-signed certificate nothing trusts.
    const tls = join(__dirname, '../../support/tls');
    const server = https.createServer({ key: readFileSync(join(tls, 'localhost-key.pem')), cert: readFileSync(join(tls, 'localhost-cert.pem')) }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await request(app({ issuer: `https://127.0.0.1:${port}/`, allowInsecureIssuer: false })).get('/').set('authorization', `Bearer ${await idp.sign({ aud: API })}`);
      expect(res.status).toBe(503);
      expect(logged()).toMatch(/fetch failed.*self[- ]signed certificate/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
