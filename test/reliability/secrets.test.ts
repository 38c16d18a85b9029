/**
 * No secret or token leaks: this file runs last (see support/sequencer.js) and greps everything
 * the suite captured — tollgate's log lines at every level (debug included), console output, the
 * gateway children's output, every 4xx/5xx response head and body — for every client secret,
 * Basic credential, Redis password and token any file used. It first adds a scenario of its own in
 * which secrets are at their most exposed: refused secrets, an IdP answering garbage or hanging
 * during a token exchange, introspection and backend auth with their own secrets, a Redis that refuses
 * the password in its URL, query-borne credentials, all logged at debug level.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { oidc, proxyCache, rateLimit, upstreamProxy, type ProxyCachePlugin, type RateLimitPlugin, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { send, type Outcome } from './support/client';
import { IdpFront } from './support/idp-front';
import { readJournals, useJournal, type JournalFile } from './support/journal';
import { DEBUG_COMMANDS, OwnRedis } from './support/redis-server';

const journal = useJournal('secrets');
const AUDIENCE = 'https://api.reliability.test';
const secret = (label: string) => {
  const s = `${label}-${randomBytes(18).toString('base64url')}`;
  journal.secret(s);
  return s;
};

let idp: TestIssuer;
let redisServer: OwnRedis;
let front: IdpFront;
let server: Server;
let base: string;
const closers: (RateLimitPlugin | ProxyCachePlugin | UpstreamProxyPlugin)[] = [];
const client = { id: 'machine-secrets', secret: secret('client') };
// Clients whose first token exchange meets a faulty IdP (nothing cached for them yet).
const unlucky = [1, 2].map((n) => ({ id: `machine-unlucky-${n}`, secret: secret(`client-${n}`) }));
const introspector = { id: 'introspector', secret: secret('introspection') };
const backend = { id: 'backend', secret: secret('backend') };
const redisPassword = secret('redis-password');
const basic = (id: string, s: string) => {
  const encoded = Buffer.from(`${id}:${s}`).toString('base64');
  journal.secret(encoded);
  return `Basic ${encoded}`;
};
const call = (path: string, headers: Record<string, string> = {}): Promise<Outcome> => send(journal, `${base}${path}`, { headers, timeoutMs: 10_000 });

beforeAll(async () => {
  idp = await createTestIssuer({ clients: [client, ...unlucky, introspector, backend].map((c) => ({ clientId: c.id, clientSecret: c.secret })) });
  front = await IdpFront.start(idp.issuer);
  // A Redis that wants another password: every connection is refused at AUTH.
  redisServer = await OwnRedis.create([...DEBUG_COMMANDS, '--requirepass', `not-${redisPassword}`]);
  const redis = { url: `redis://:${redisPassword}@127.0.0.1:${redisServer.port}`, commandTimeout: 200 };
  const limit = rateLimit({ minute: 1_000, policy: 'redis', redis, faultTolerant: false });
  const cache = proxyCache({ strategy: 'redis', redis });
  const proxy = upstreamProxy({
    url: 'http://127.0.0.1:1',
    retries: 0,
    auth: { clientCredentials: { tokenUrl: `${front.url}oauth/token`, clientId: backend.id, clientSecret: backend.secret, tokenPostArgs: { audience: AUDIENCE } } },
  });
  closers.push(limit, cache, proxy);
  const auth = oidc({
    issuer: idp.issuer,
    authMethods: ['client_credentials', 'bearer', 'introspection'],
    audience: AUDIENCE,
    tokenEndpoint: `${front.url}oauth/token`,
    introspectionEndpoint: `${front.url}oauth/introspect`,
    introspection: { clientId: introspector.id, clientSecret: introspector.secret, ttl: 0 },
    tokenPostArgs: { audience: AUDIENCE },
    bearerTokenParamType: ['header', 'query'],
    clientCredentialsParamType: ['header', 'query'],
    allowInsecureIssuer: true,
    timeout: 500,
  });
  const app = express();
  app.use('/auth', gateway(auth));
  app.use('/redis', gateway(auth, limit));
  app.use('/cache', gateway(auth, cache));
  app.use('/backend', gateway(proxy));
  app.get('/{*path}', (_req, res) => void res.json({ ok: true }));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(closers.map((p) => p.close()));
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await front.close();
  await idp.close();
  await redisServer.kill();
  // ioredis's disconnect() of a client between reconnect attempts arms a timer (disconnectTimeout,
  // 200 ms in tollgate's clients) that nothing clears; let it run out so jest exits cleanly.
  await new Promise((r) => setTimeout(r, 300));
});

/** Every form a secret could be logged in: as it is, URL-encoded, base64. */
function forms(value: string): string[] {
  return [...new Set([value, encodeURIComponent(value), Buffer.from(value).toString('base64')])];
}

/** A token's distinctive parts too: a log that printed its payload or signature alone also leaks it. */
function tokenForms(token: string): string[] {
  const parts = token.split('.').slice(1).filter((p) => p.length >= 16);
  return [token, ...parts];
}

describe('secrets and tokens across the reliability suite', () => {
  it('exercises the places a secret could leak (refusals, IdP faults, introspection, backend auth, Redis, query credentials)', async () => {
    const token = await idp.sign({ sub: 'u', aud: AUDIENCE });
    const opaque = idp.opaqueToken({ sub: 'u', aud: AUDIENCE });
    journal.token(token, opaque);
    const statuses: Record<string, number | undefined> = {};
    statuses.wrongSecret = (await call('/auth/r', { authorization: basic(client.id, `${client.secret}x`) })).status;
    statuses.querySecret = (await call(`/auth/r?client_id=${client.id}&client_secret=${encodeURIComponent(client.secret)}`)).status;
    statuses.tokenInQueryAndHeader = (await call(`/auth/r?access_token=${token}x`, { authorization: `Bearer ${token}` })).status;
    front.mode = 'garbage';
    statuses.garbageExchange = (await call('/auth/r', { authorization: basic(unlucky[0]!.id, unlucky[0]!.secret) })).status;
    statuses.garbageIntrospection = (await call('/auth/r', { authorization: `Bearer ${opaque}` })).status;
    statuses.garbageBackend = (await call('/backend/r')).status;
    front.mode = 'pass';
    idp.setOutage('hang');
    statuses.hangingExchange = (await call(`/auth/r?client_id=${unlucky[1]!.id}&client_secret=${encodeURIComponent(unlucky[1]!.secret)}`)).status;
    idp.setOutage('error');
    statuses.failingIntrospection = (await call('/auth/r', { authorization: `Bearer ${opaque}` })).status;
    idp.setOutage('none');
    statuses.redisDown = (await call('/redis/r', { authorization: `Bearer ${token}` })).status;
    statuses.cacheDown = (await call('/cache/r', { authorization: `Bearer ${token}` })).status;
    statuses.backendUpstreamDown = (await call('/backend/r')).status;
    // Each as DESIGN.md has it; the one 500 is the limiter without fault tolerance.
    expect(statuses).toEqual({
      wrongSecret: 401,
      querySecret: 200,
      tokenInQueryAndHeader: 400,
      garbageExchange: 502,
      garbageIntrospection: 502,
      garbageBackend: 502,
      hangingExchange: 503,
      failingIntrospection: 502,
      redisDown: 500,
      cacheDown: 200,
      backendUpstreamDown: 502,
    });
    expect(journal.logs.length).toBeGreaterThan(0);
  });

  it('finds none of them in any log line, console output, child output or error response of the suite', () => {
    const files: JournalFile[] = [
      ...readJournals().filter((j) => j.name !== 'secrets'),
      { name: 'secrets', logs: journal.logs, responses: journal.responses, secrets: [...journal.secrets], tokens: [...journal.tokens], figures: {} },
    ];
    const needles = new Map<string, string>();
    for (const f of files) {
      for (const s of f.secrets) if (s.length >= 8) for (const form of forms(s)) needles.set(form, `${f.name}: secret ${s.slice(0, 6)}…`);
      for (const t of f.tokens) for (const form of tokenForms(t)) needles.set(form, `${f.name}: token ${t.slice(0, 6)}…`);
    }
    const haystack = files.flatMap((f) => [...f.logs, ...f.responses].map((e) => ({ file: f.name, source: e.source, text: e.text })));
    const leaks: string[] = [];
    for (const entry of haystack) {
      for (const [needle, what] of needles) if (entry.text.includes(needle)) leaks.push(`${what} in ${entry.file} ${entry.source}: ${entry.text.slice(0, 160)}`);
    }
    journal.figure('secrets check', {
      files: files.map((f) => f.name),
      secretsAndTokens: files.reduce((n, f) => n + f.secrets.length + f.tokens.length, 0),
      formsSearched: needles.size,
      logLines: files.reduce((n, f) => n + f.logs.length, 0),
      errorResponses: files.reduce((n, f) => n + f.responses.length, 0),
      leaks: leaks.length,
    });
    expect(leaks).toEqual([]);
    // The check had something to look at: secrets, tokens, log lines and error bodies.
    expect(needles.size).toBeGreaterThan(10);
    expect(haystack.filter((e) => e.source.startsWith('tollgate.')).length).toBeGreaterThan(0);
    expect(haystack.filter((e) => e.source.startsWith('HTTP')).length).toBeGreaterThan(0);
  });
});
