/**
 * Hostile `Authorization` headers through the full stack (oidc bearer + client credentials,
 * rateLimit, proxyCache, upstreamProxy) in its own process: random ones from a seeded PRNG,
 * forged and tampered JWTs, and Basic credentials that are not base64 or lack a colon. Never a
 * 500, never a crash, never a request upstream; the process serves normally afterwards.
 */
import { createTestIssuer } from 'tollgate/testing';
import { json, sendRaw, tally, type Outcome } from './support/client';
import { AUDIENCE, answeredBy, rawRequest, startFullStack, type FullStack } from './support/full-stack';
import { useJournal } from './support/journal';
import { fuzzSeed, Prng } from './support/prng';

const journal = useJournal('fuzz-auth');
const RANDOM_HEADERS = 400;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';
const b64url = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

let stack: FullStack;
beforeAll(async () => {
  stack = await startFullStack(journal);
});
afterAll(() => stack.close());

const send = (authorization: string | Buffer) => sendRaw(journal, stack.gateway.port, rawRequest('GET', '/api/get', [['Authorization', authorization]]));

/** A 401 as DESIGN.md has it: JSON body, Bearer challenge. */
function expectUnauthorized(o: Outcome): void {
  expect([o.status, json(o)]).toEqual([401, { message: 'Unauthorized' }]);
  expect(String(o.headers['www-authenticate'])).toMatch(/^Bearer realm="127\.0\.0\.1:\d+"/);
}

/** What the gateway may answer to a request with a bad credential: a 401 of its own, or Node's 400 for a header it cannot parse. */
const ALLOWED = new Set(['tollgate 401', 'framework 400']);

describe('oidc through the full stack with hostile Authorization headers', () => {
  it(`answers ${RANDOM_HEADERS} random and hostile headers (seeded) with 401 JSON or Node's 400, never 5xx`, async () => {
    const rng = new Prng(fuzzSeed());
    const jwtHeaders: unknown[] = [
      { alg: 'none' },
      { alg: 'HS256', kid: stack.idp.currentKid },
      { alg: 'RS256', kid: 'unknown-kid' },
      { alg: 'RS256', kid: '../../../etc/passwd' },
      { alg: 'RS256', kid: 42 },
      { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks' },
      { alg: 'RS256', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
      { alg: 'RS256', crit: ['b64'], b64: false },
      { alg: 'ES256', kid: stack.idp.currentKid },
      { alg: 'RSA-OAEP', enc: 'A256GCM' },
      {},
      [],
      'RS256',
      null,
    ];
    const claims = () => ({ sub: rng.string(B64URL, rng.int(0, 20)), aud: rng.pick([AUDIENCE, 'other', 5, null]), exp: rng.pick([0, 9_999_999_999, 'soon', -1, 1e308]) });
    const generators: (() => string | Buffer)[] = [
      () => `Bearer ${rng.string(B64URL, rng.int(1, 300))}`,
      () => `Bearer ${b64url(rng.pick(jwtHeaders))}.${b64url(claims())}.${rng.string(B64URL, rng.int(0, 342))}`,
      () => `Bearer ${rng.string(B64URL + '.', rng.int(1, 80))}`,
      () => `Basic ${rng.string(B64, rng.int(0, 120))}`,
      () => `Basic ${rng.bytes(rng.int(0, 90)).toString('base64')}`,
      () => `Basic ${rng.string(B64 + '!@#$%^&*()[]{}<>~ ', rng.int(1, 60))}`,
      () => rng.pick(['Bearer', 'Bearer ', 'bearer\t', ' Bearer  x', 'BEARER x', 'Basic', 'Basic ', 'Basic =', 'Digest username="a"', 'Negotiate YII=', 'Bearer a.b', 'Bearer ..', 'Bearer a..c', `Bearer ${'.'.repeat(3000)}`, 'Bearer null', 'Bearer undefined', 'Bearer {}']),
      // Any byte but CR and LF: control characters, DEL, obs-text.
      () => Buffer.from(Array.from({ length: rng.int(1, 200) }, () => rng.pick([rng.int(0, 9), rng.int(11, 12), rng.int(14, 31), rng.int(32, 126), 127, rng.int(128, 255)]))),
      () => Buffer.concat([Buffer.from('Bearer '), Buffer.from(rng.string('\u00e9\u4e2d\u{1F600}\u0000\ufffd' + B64URL, rng.int(1, 50)), 'utf8')]),
      // Header injection attempts: a second header smuggled after a CRLF.
      () => `Bearer ${rng.string(B64URL, 10)}\r\nX-Injected: ${rng.string(B64URL, 5)}`,
      () => `Bearer ${rng.string(B64URL, 10)}\r\nAuthorization: Bearer ${rng.string(B64URL, 10)}`,
    ];
    const upstreamBefore = stack.echo.requests;
    const outcomes: Outcome[] = [];
    for (let i = 0; i < RANDOM_HEADERS; i++) outcomes.push(await send(rng.pick(generators)()));
    const verdicts = tally(outcomes, answeredBy);
    for (const [verdict] of Object.entries(verdicts)) expect(ALLOWED).toContain(verdict);
    for (const o of outcomes.filter((x) => answeredBy(x) === 'tollgate 401')) expectUnauthorized(o);
    expect(verdicts['tollgate 401']).toBeGreaterThan(RANDOM_HEADERS / 2);
    expect(stack.echo.requests).toBe(upstreamBefore);
    journal.figure(`${RANDOM_HEADERS} random Authorization headers (seed ${fuzzSeed()})`, verdicts);
  });

  it('refuses forged, tampered, expired and wrong-audience JWTs with 401, none reaching the upstream', async () => {
    const good = (await stack.bearer()).slice(7);
    const [h, p, s] = good.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const other = await createTestIssuer();
    const forged = await other.sign({ ...payload }, { kid: stack.idp.currentKid } as never);
    await other.close();
    const tokens = [
      `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`, // signature bit-flipped
      `${h}.${b64url({ ...payload, sub: 'admin' })}.${s}`, // payload changed, signature kept
      `${b64url({ alg: 'none', typ: 'JWT' })}.${p}.`, // alg none
      `${b64url({ alg: 'HS256', kid: stack.idp.currentKid })}.${p}.${s}`, // algorithm confusion
      forged, // right shape, right claims, another key
      (await stack.bearer({ exp: Math.floor(Date.now() / 1000) - 60 })).slice(7), // expired
      (await stack.bearer({ aud: 'https://another-api' })).slice(7), // wrong audience
      (await stack.bearer({ nbf: Math.floor(Date.now() / 1000) + 3600 })).slice(7), // not yet valid
      `${h}.${p}`, // two parts
      `${h}.${p}.${s}.${s}`, // four parts
    ];
    journal.token(...tokens);
    const upstreamBefore = stack.echo.requests;
    for (const token of tokens) expectUnauthorized(await send(`Bearer ${token}`));
    expect(stack.echo.requests).toBe(upstreamBefore);
    // The genuine token still passes.
    const ok = await send(`Bearer ${good}`);
    expect(answeredBy(ok)).toBe('upstream 200');
  });

  it('answers Basic credentials that are not base64, lack a colon or an id or a secret with 401, without asking the IdP', async () => {
    const malformed = [
      'Basic !!!',
      'Basic ====',
      'Basic a b',
      `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
      `Basic ${Buffer.from(':secret-without-id').toString('base64')}`,
      `Basic ${Buffer.from(':').toString('base64')}`,
      `Basic ${Buffer.from('').toString('base64')}`,
      'Basic',
      `Basic ${stack.client.basic.slice(6)}!`,
      `Basic ${Buffer.from(stack.client.id).toString('base64')}`, // the id alone
      `Basic ${Buffer.from(`${stack.client.id}:`).toString('base64')}`, // an empty secret (answered 500 before 01dab4c)
      `Basic ${'A'.repeat(12_000)}`,
    ];
    const before = stack.idp.requests.token;
    for (const header of malformed) expectUnauthorized(await send(header));
    expect(stack.idp.requests.token).toBe(before);
  });

  it('answers well-formed but wrong Basic credentials with 401, one IdP request each, remembered briefly', async () => {
    const wrong = [
      `${stack.client.id}:wrong-secret`,
      `unknown-client:${stack.client.secret}`,
      `${stack.client.id}:${stack.client.secret}:extra`,
      `\u00ff\u00fe:${'x'.repeat(8_000)}`,
      `${stack.client.id} :${stack.client.secret}`,
    ].map((pair) => `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`);
    journal.secret(...wrong.map((w) => w.slice(6)));
    const before = stack.idp.requests.token;
    for (const header of wrong) expectUnauthorized(await send(header));
    expect(stack.idp.requests.token - before).toBe(wrong.length);
    // A refused secret is answered from memory for a few seconds: no second IdP request.
    for (const header of wrong) expectUnauthorized(await send(header));
    expect(stack.idp.requests.token - before).toBe(wrong.length);
    journal.figure(`wrong Basic credentials: IdP token requests for 2 × ${wrong.length} attempts`, stack.idp.requests.token - before);
  });

  it('still serves the genuine client afterwards, logged no error, printed no stack trace', async () => {
    const ok = await send(stack.client.basic);
    expect(answeredBy(ok)).toBe('upstream 200');
    expect((json(ok) as { headers: { authorization: string } }).headers.authorization).toMatch(/^Bearer /);
    journal.token((json(ok) as { headers: { authorization: string } }).headers.authorization.slice(7));
    expect(stack.gateway.alive).toBe(true);
    expect(stack.gateway.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(stack.gateway.other).toEqual([]);
  });
});
