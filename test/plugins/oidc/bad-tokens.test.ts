import { createHmac, createPublicKey } from 'node:crypto';
import http from 'node:http';
import express from 'express';
import request from 'supertest';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { oidc, setLogger } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestIssuer, runPlugin, createTestContext, type TestIssuer } from 'tollgate/testing';

const API = 'https://api.example';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

let idp: TestIssuer;
let server: http.Server;
let foreign: { privateKey: CryptoKey; publicKey: CryptoKey };
let handled = 0;

beforeAll(async () => {
  idp = await createTestIssuer();
  foreign = await generateKeyPair('RS256', { extractable: true });
  const app = express();
  app.use(gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API, rediscoveryLifetime: 0 })));
  app.get('/', (_req, res) => {
    handled++;
    res.json({ ok: true });
  });
  // A larger header limit than Node's 16 KB, so a 64 KB token reaches the plugin instead of a 431.
  server = http.createServer({ maxHeaderSize: 256 * 1024 }, app);
});
afterAll(async () => {
  server.close();
  await idp.close();
});

const valid = () => idp.sign({ sub: 'client@clients', aud: API });
const parts = async () => (await valid()).split('.') as [string, string, string];

/** Each case builds the bearer token to send. */
const cases: [string, () => Promise<string>][] = [
  ['alg none, no signature', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${(await parts())[1]}.`],
  ['alg none, with a signature part', async () => `${b64({ alg: 'none' })}.${(await parts())[1]}.${(await parts())[2]}`],
  [
    'HS256 signed with the public key (algorithm confusion)',
    async () => {
      const jwk = idp.jwks().keys[0] as { n: string; e: string; kty: string };
      const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: idp.currentKid })}.${b64({ iss: idp.issuer, aud: API, sub: 'x', exp: now() + 600 })}`;
      return `${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`;
    },
  ],
  [
    'tampered payload',
    async () => {
      const [h, , s] = await parts();
      return `${h}.${b64({ iss: idp.issuer, aud: API, sub: 'admin', exp: now() + 600 })}.${s}`;
    },
  ],
  [
    'tampered signature',
    async () => {
      const [h, p, s] = await parts();
      return `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    },
  ],
  ['expired', () => idp.sign({ aud: API, exp: now() - 60 })],
  ['nbf in the future', () => idp.sign({ aud: API, nbf: now() + 600 })],
  ['wrong issuer', () => idp.sign({ aud: API, iss: 'https://evil.example/' })],
  ['issuer without its trailing slash', () => idp.sign({ aud: API, iss: idp.issuer.replace(/\/$/, '') })],
  ['wrong audience', () => idp.sign({ aud: 'https://other.example' })],
  ['no exp', () => idp.sign({ aud: API, exp: undefined })],
  ['unknown kid', () => idp.sign({ aud: API }, { kid: 'not-published' })],
  ['a known kid with a foreign key', () => idp.sign({ aud: API }, { privateKey: foreign.privateKey })],
  [
    'an embedded jwk header with the matching foreign key',
    async () => idp.sign({ aud: API }, { privateKey: foreign.privateKey, header: { jwk: await exportJWK(foreign.publicKey) } }),
  ],
  ['a jku header, even on a genuine signature', () => idp.sign({ aud: API }, { header: { jku: 'https://evil.example/jwks.json' } })],
  ['garbage', async () => 'garbage'],
  ['three garbage parts', async () => 'abc.def.ghi'],
  ['JSON that is not a header', async () => `${b64('hello')}.${b64({})}.c2ln`],
  ['JWE-shaped (five parts)', async () => `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`],
  ['64 KB token', async () => `${b64({ alg: 'RS256' })}.${'A'.repeat(64 * 1024)}.${'B'.repeat(342)}`],
];

describe('oidc bearer: bad tokens', () => {
  it.each(cases)('answers 401 invalid_token for %s', async (_name, build) => {
    const token = await build();
    const before = handled;
    const res = await request(server).get('/').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: 'Unauthorized' });
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}", error="invalid_token"`);
    expect(res.text).not.toContain(token.slice(0, 40));
    expect(handled).toBe(before);
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty bearer', 'Bearer '],
    ['a bare "Bearer"', 'Bearer'],
    ['another scheme', 'Digest username="x"'],
  ])('answers 401 with the bare challenge for %s', async (_name, header) => {
    const req = request(server).get('/');
    const res = await (header === undefined ? req : req.set('authorization', header));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: 'Unauthorized' });
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}"`);
  });

  it('lets the valid token through (the control case)', async () => {
    const res = await request(server).get('/').set('authorization', `Bearer ${await valid()}`);
    expect(res.status).toBe(200);
  });

  it('logs why at debug level, never the token', async () => {
    const lines: string[] = [];
    setLogger({ debug: (m, f) => void lines.push(`${m} ${JSON.stringify(f)}`), info() {}, warn() {}, error() {} });
    try {
      const token = await idp.sign({ aud: API, exp: now() - 60 });
      expect((await request(server).get('/').set('authorization', `Bearer ${token}`)).status).toBe(401);
      expect(lines.join('\n')).toContain('ERR_JWT_EXPIRED');
      expect(lines.join('\n')).not.toContain(token.split('.')[1]);
    } finally {
      setLogger(null);
    }
  });

  it('answers the same bad tokens in runPlugin, with no server', async () => {
    const plugin = oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API });
    for (const [, build] of cases) {
      const result = await runPlugin(plugin, createTestContext({ headers: { authorization: `Bearer ${await build()}` } }));
      expect([result.status, result.body]).toEqual([401, { message: 'Unauthorized' }]);
    }
    const ok = await runPlugin(plugin, createTestContext({ headers: { authorization: `Bearer ${await valid()}` } }));
    expect(ok.status).toBe(200);
    expect(ok.ctx.consumer).toEqual({ id: 'client@clients' });
  });
});
