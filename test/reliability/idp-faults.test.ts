/**
 * The identity provider refuses connections, answers 503, hangs, or answers an HTML page:
 * tokens the gateway can verify with the keys it holds keep serving, new client-credentials
 * token fetches fail fast with 502/503 JSON (never 500, never a hang), and everything recovers
 * once the IdP is back, without restarting the app.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { oidc, type OidcOptions, type OidcPlugin } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { json, send, type Outcome } from './support/client';
import { IdpFront } from './support/idp-front';
import { useJournal } from './support/journal';
import { sleep, until } from './support/timing';

const journal = useJournal('idp-faults');
const AUDIENCE = 'https://api.reliability.test';
/** The fail-fast bound: the plugin's IdP timeout is 1 s, so 2 s leaves a generous margin. */
const FAST_MS = 2_000;

let idp: TestIssuer;
let front: IdpFront;
let server: Server;
let base: string;
let clients = 0;

const newSecret = () => {
  const s = randomBytes(18).toString('base64url');
  journal.secret(s);
  return s;
};
const basic = (id: string, secret: string) => {
  const header = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  journal.secret(header.slice(6));
  return header;
};
/** Registers a client with the issuer and returns its Basic header. */
function newClient(): string {
  const clientId = `client-${++clients}-${randomBytes(3).toString('hex')}`;
  const clientSecret = newSecret();
  idp.addClient({ clientId, clientSecret });
  return basic(clientId, clientSecret);
}
async function bearer(): Promise<string> {
  const token = await idp.sign({ sub: 'user-1', aud: AUDIENCE, azp: 'spa' });
  journal.token(token);
  return `Bearer ${token}`;
}
const call = (path: string, authorization: string) => send(journal, `${base}${path}`, { headers: { authorization }, timeoutMs: 10_000 });

function options(overrides: Partial<OidcOptions> = {}): OidcOptions {
  return {
    issuer: idp.issuer,
    authMethods: ['client_credentials', 'bearer'],
    audience: AUDIENCE,
    tokenPostArgs: { audience: AUDIENCE },
    allowInsecureIssuer: true,
    timeout: 1_000,
    // An unknown kid refetches the keys at once (Kong's rediscovery_lifetime 0), so recovery shows at the next request.
    rediscoveryLifetime: 0,
    ...overrides,
  };
}

/** A 502/503 as the client sees it: JSON `{ message }`, fast. */
function expectIdpError(o: Outcome, status: 502 | 503): void {
  expect({ status: o.status, error: o.error }).toEqual({ status, error: undefined });
  expect(o.headers['content-type']).toMatch(/^application\/json/);
  const body = json(o) as Record<string, unknown>;
  expect(Object.keys(body).filter((k) => k !== 'request_id')).toEqual(['message']);
  expect(typeof body.message).toBe('string');
  expect(o.ms).toBeLessThan(FAST_MS);
}

const expectOk = (o: Outcome) => expect({ status: o.status, error: o.error }).toEqual({ status: 200, error: undefined });

beforeAll(async () => {
  idp = await createTestIssuer({ tokenLifetime: 3_600 });
  front = await IdpFront.start(idp.issuer);
  // Discovery goes to the issuer itself; token and key requests go through the switchable front.
  const plugin: OidcPlugin = oidc(options({ tokenEndpoint: `${front.url}oauth/token`, jwksEndpoint: `${front.url}.well-known/jwks.json` }));
  await plugin.ready();
  const cold = oidc(options());
  const app = express();
  app.use('/api', gateway(plugin));
  app.use('/cold', gateway(cold));
  app.get('/{*path}', (req, res) => {
    const upstreamAuthorization = req.headers.authorization ?? '';
    if (upstreamAuthorization.startsWith('Bearer ')) journal.token(upstreamAuthorization.slice(7));
    res.json({ consumer: getContext(req).consumer?.id ?? null });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await front.close();
  await idp.close();
});

interface Fault {
  name: string;
  status: 502 | 503;
  on(): void | Promise<void>;
  off(): void | Promise<void>;
  /** Token requests that reached the IdP (undefined where nothing can count them). */
  reached(): number | undefined;
}

const faults: Fault[] = [
  { name: 'refusing connections', status: 503, on: () => front.refuse(), off: () => front.reopen(), reached: () => undefined },
  { name: 'answering 503', status: 502, on: () => idp.setOutage('error'), off: () => idp.setOutage('none'), reached: () => idp.requests.token },
  { name: 'hanging', status: 503, on: () => idp.setOutage('hang'), off: () => idp.setOutage('none'), reached: () => idp.requests.token },
  { name: 'answering an HTML page', status: 502, on: () => void (front.mode = 'garbage'), off: () => void (front.mode = 'pass'), reached: () => front.requests },
];

describe('oidc when the identity provider fails', () => {
  let known: string;
  let clientA: string;

  it('serves bearer tokens and client credentials while the IdP is healthy', async () => {
    known = await bearer();
    clientA = newClient();
    expectOk(await call('/api/r', known));
    const a = await call('/api/r', clientA);
    expectOk(a);
    expect(json(a)).toEqual({ consumer: expect.stringMatching(/^client-1-/) });
  });

  it.each(faults)('IdP $name: cached keys and tokens keep serving, new token fetches fail fast with $status JSON, recovery needs no restart', async (fault) => {
    const fresh = await bearer(); // signed with the key the gateway already holds, never presented before
    const failing = newClient();
    await fault.on();
    const reachedBefore = fault.reached();

    expectOk(await call('/api/r', known));
    expectOk(await call('/api/r', fresh));
    expectOk(await call('/api/r', clientA));

    // Ten concurrent requests of a client whose token is not cached: one token request, ten fast errors.
    const burst = await Promise.all(Array.from({ length: 10 }, () => call('/api/r', failing)));
    for (const o of burst) expectIdpError(o, fault.status);
    const reached = fault.reached();
    if (reached !== undefined) expect(reached - reachedBefore!).toBe(1);
    const again = await call('/api/r', failing);
    expectIdpError(again, fault.status);

    // A key the gateway has never seen must be fetched: that fails fast as well, it is not a 401.
    await idp.rotateKeys();
    const rotated = await bearer();
    const unknownKid = await call('/api/r', rotated);
    expectIdpError(unknownKid, fault.status);

    const slowest = Math.max(...[...burst, again, unknownKid].map((o) => o.ms));
    journal.figure(`IdP ${fault.name}: status and slowest of 12 error answers (ms)`, { status: fault.status, ms: slowest });

    await fault.off();
    const recovered = await call('/api/r', failing);
    expectOk(recovered);
    expectOk(await call('/api/r', rotated));
    expectOk(await call('/api/r', known));
    journal.figure(`IdP ${fault.name}: first request after recovery (ms)`, recovered.ms);
  });

  it('a gateway started while the IdP answers 503 fails fast, backs off, and serves once the IdP is back', async () => {
    const token = await bearer();
    const client = newClient();
    idp.setOutage('error');
    const discoveryBefore = idp.requests.discovery;
    const answers: Outcome[] = [];
    for (let i = 0; i < 20; i++) answers.push(await call('/cold/r', i % 2 ? token : client));
    for (const o of answers) expectIdpError(o, 502);
    // Discovery failures are remembered for a backoff window, not retried on every request.
    const discoveries = idp.requests.discovery - discoveryBefore;
    expect(discoveries).toBeGreaterThanOrEqual(1);
    expect(discoveries).toBeLessThanOrEqual(3);

    idp.setOutage('none');
    const started = Date.now();
    await until(async () => ((await call('/cold/r', token)).status === 200 ? true : (await sleep(100), undefined)), 8_000);
    expectOk(await call('/cold/r', client));
    journal.figure('cold start during an IdP outage', { requests: 20, status: 502, discoveryRequests: discoveries, servingAfterRecoveryMs: Date.now() - started });
  });
});
