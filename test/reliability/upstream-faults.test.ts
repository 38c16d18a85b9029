/**
 * The upstream refuses, resets, answers bytes that are not HTTP, stays silent, or fails in the
 * middle of its body: the client gets DESIGN.md's 502/504 JSON (or, once the head is out, a cut
 * connection rather than a hang), the gateway closes its side, and it keeps serving.
 */
import { createEchoUpstream, type EchoUpstream } from 'tollgate/testing';
import { json, send, type Outcome } from './support/client';
import { GatewayChild } from './support/child';
import { faultUpstream, PARTIAL_BODY, refusedUrl, type FaultKind, type FaultUpstream } from './support/fault-upstreams';
import { useJournal } from './support/journal';
import { until } from './support/timing';

const journal = useJournal('upstream-faults');
const READ_TIMEOUT = 300;
const BAD_GATEWAY = { message: 'An invalid response was received from the upstream server' };
const TIMEOUT = { message: 'The upstream server is timing out' };

let gateway: GatewayChild;
let echo: EchoUpstream;
const faulty = {} as Record<FaultKind, FaultUpstream>;
const KINDS: FaultKind[] = ['reset', 'malformed', 'silent', 'reset-mid-body', 'stall-mid-body'];

beforeAll(async () => {
  echo = await createEchoUpstream();
  for (const kind of KINDS) faulty[kind] = await faultUpstream(kind);
  const upstreams: Record<string, string> = { echo: echo.url, refused: await refusedUrl() };
  for (const kind of KINDS) upstreams[kind] = faulty[kind].url;
  gateway = await GatewayChild.start(journal, 'proxy-gateway', { upstreams, readTimeout: READ_TIMEOUT, connectTimeout: 1_000 });
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all([echo.close(), ...KINDS.map((k) => faulty[k].close())]);
});

const get = (path: string) => send(journal, `${gateway.url}${path}`, { agent: false, timeoutMs: 10_000 });

function expectJsonError(o: Outcome, status: number, body: object): void {
  expect({ status: o.status, error: o.error }).toEqual({ status, error: undefined });
  expect(o.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(json(o)).toEqual(body);
}

/** The gateway closed every connection it opened to this upstream. */
const closedBehind = (kind: FaultKind) => until(() => (faulty[kind].open === 0 ? true : undefined), 3_000);

describe('upstreamProxy when the upstream fails', () => {
  const figures: Record<string, unknown> = {};
  afterAll(() => journal.figure('status and time per fault', figures));

  afterEach(async () => {
    // After every fault the gateway still proxies normally.
    const ok = await get('/echo/get');
    expect(ok.status).toBe(200);
    expect(gateway.alive).toBe(true);
  });

  it('refused: 502 JSON after the retries, fast', async () => {
    const o = await get('/refused/get');
    expectJsonError(o, 502, BAD_GATEWAY);
    expect(o.ms).toBeLessThan(2_000);
    figures.refused = { status: o.status, ms: o.ms };
  });

  it('reset before the head: 502 JSON; an idempotent request is tried 1 + 5 times, a POST once', async () => {
    const before = faulty.reset.accepted;
    const o = await get('/reset/get');
    expectJsonError(o, 502, BAD_GATEWAY);
    expect(faulty.reset.accepted - before).toBe(6);
    const post = await send(journal, `${gateway.url}/reset/post`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' }, agent: false });
    expectJsonError(post, 502, BAD_GATEWAY);
    expect(faulty.reset.accepted - before).toBe(7);
    expect(o.ms).toBeLessThan(2_000);
    figures.reset = { status: o.status, ms: o.ms, connectionsPerGet: 6 };
  });

  it('malformed (not HTTP): 502 JSON, not retried, and the gateway closes the connection the upstream left open', async () => {
    const before = faulty.malformed.accepted;
    const o = await get('/malformed/get');
    expectJsonError(o, 502, BAD_GATEWAY);
    expect(faulty.malformed.accepted - before).toBe(1);
    await closedBehind('malformed');
    figures.malformed = { status: o.status, ms: o.ms };
  });

  it('silent: 504 JSON once readTimeout passes, and the connection is closed', async () => {
    const o = await get('/silent/get');
    expectJsonError(o, 504, TIMEOUT);
    expect(o.ms).toBeGreaterThanOrEqual(READ_TIMEOUT - 20);
    expect(o.ms).toBeLessThan(READ_TIMEOUT + 2_000);
    await closedBehind('silent');
    figures.silent = { status: o.status, ms: o.ms };
  });

  it('slow (a real server answering after 2 s, readTimeout 300 ms): 504 JSON; in time (100 ms): 200', async () => {
    const late = await get('/echo/delay/2000');
    expectJsonError(late, 504, TIMEOUT);
    expect(late.ms).toBeLessThan(READ_TIMEOUT + 2_000);
    const inTime = await get('/echo/delay/100');
    expect(inTime.status).toBe(200);
    figures.slow = { status: late.status, ms: late.ms };
  });

  it('reset mid-body: the head was already sent, so the client connection is cut (no hang, no padded body)', async () => {
    const o = await get('/reset-mid-body/get');
    expect(o.status).toBe(200);
    expect(o.truncated).toBe(true);
    expect(o.body.toString()).toBe(PARTIAL_BODY);
    expect(o.ms).toBeLessThan(2_000);
    await closedBehind('reset-mid-body');
    figures['reset-mid-body'] = { status: '200, cut', ms: o.ms };
  });

  it('stall mid-body: the client connection is cut once readTimeout passes, and the upstream connection closed', async () => {
    const o = await get('/stall-mid-body/get');
    expect(o.status).toBe(200);
    expect(o.truncated).toBe(true);
    expect(o.body.toString()).toBe(PARTIAL_BODY);
    expect(o.ms).toBeLessThan(READ_TIMEOUT + 2_000);
    await closedBehind('stall-mid-body');
    figures['stall-mid-body'] = { status: '200, cut', ms: o.ms };
  });

  it('logs each failure without a stack trace', () => {
    const warnings = gateway.logs.filter((l) => l.level === 'warn' && l.message.startsWith('upstreamProxy:'));
    expect(warnings.length).toBeGreaterThanOrEqual(7);
    expect(gateway.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(JSON.stringify(gateway.logs)).not.toMatch(/\n\s+at /);
    expect(gateway.other).toEqual([]);
  });
});
