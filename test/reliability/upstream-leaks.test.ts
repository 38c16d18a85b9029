/**
 * 10,000 upstream failures of six kinds through one gateway process: every one answered as
 * expected, and afterwards the gateway holds as many sockets and libuv handles as before, the
 * upstreams hold no connection, and memory stays bounded.
 */
import http from 'node:http';
import type { ChildStats } from './children/kit';
import { json, send, statusOf, tally, type Outcome } from './support/client';
import { GatewayChild } from './support/child';
import { faultUpstream, refusedUrl, type FaultKind, type FaultUpstream } from './support/fault-upstreams';
import { useJournal } from './support/journal';
import { sleep, until } from './support/timing';

const journal = useJournal('upstream-leaks');
const FAILURES = 10_000;
const WARM_UP = 300;
const CONCURRENCY = 50;
const READ_TIMEOUT = 100;
const MB = 1024 * 1024;
/** Growth allowed between the two measurements, after a forced GC (heap) and as the OS sees it (RSS). */
const HEAP_BOUND = 8 * MB;
const RSS_BOUND = 64 * MB;

type Kind = 'refused' | FaultKind;
const KINDS: Kind[] = ['refused', 'reset', 'malformed', 'silent', 'reset-mid-body', 'stall-mid-body'];
const EXPECTED: Record<Kind, string> = {
  refused: '502',
  reset: '502',
  malformed: '502',
  silent: '504',
  'reset-mid-body': '200+cut',
  'stall-mid-body': '200+cut',
};

let gateway: GatewayChild;
const faulty = {} as Record<FaultKind, FaultUpstream>;

beforeAll(async () => {
  const upstreams: Record<string, string> = { refused: await refusedUrl() };
  for (const kind of KINDS) {
    if (kind === 'refused') continue;
    faulty[kind] = await faultUpstream(kind);
    upstreams[kind] = faulty[kind].url;
  }
  gateway = await GatewayChild.start(journal, 'proxy-gateway', { upstreams, readTimeout: READ_TIMEOUT, connectTimeout: 1_000 });
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all(Object.values(faulty).map((f) => f.close()));
});

/** Sends `total` requests, kind i % 6, from `CONCURRENCY` workers over one keep-alive agent. */
async function fail(total: number): Promise<{ kind: Kind; o: Outcome }[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const out: { kind: Kind; o: Outcome }[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const kind = KINDS[i % KINDS.length]!;
      out.push({ kind, o: await send(journal, `${gateway.url}/${kind}/get?i=${i}`, { agent, timeoutMs: 10_000 }) });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return out;
}

interface Snapshot {
  sockets: number;
  tcpHandles: number;
  timers: number;
  heapUsed: number;
  rss: number;
  upstreamOpen: number;
}

/** The gateway at rest: no client connection, no upstream connection left. */
async function snapshot(): Promise<Snapshot> {
  const upstreamOpen = () => Object.values(faulty).reduce((n, f) => n + f.open, 0);
  await until(() => (upstreamOpen() === 0 ? true : undefined), 5_000).catch(() => undefined);
  await sleep(300);
  const stats: ChildStats = await gateway.stats();
  await sleep(100);
  return {
    sockets: gateway.sockets(),
    // The /__stats request's own socket is one of the TCPSocketWrap handles it counted.
    tcpHandles: (stats.resources.TCPSocketWrap ?? 0) - 1,
    timers: stats.resources.Timeout ?? 0,
    heapUsed: stats.heapUsed,
    rss: gateway.rss(),
    upstreamOpen: upstreamOpen(),
  };
}

describe('upstreamProxy after 10,000 upstream failures', () => {
  it('answers each failure as expected and leaks no socket, handle or memory', async () => {
    await fail(WARM_UP);
    const before = await snapshot();

    const started = Date.now();
    const results = await fail(FAILURES);
    const seconds = (Date.now() - started) / 1000;

    // Every request got exactly the outcome its kind calls for.
    const byKind: Record<string, Record<string, number>> = {};
    for (const kind of KINDS) byKind[kind] = tally(results.filter((r) => r.kind === kind).map((r) => r.o), statusOf);
    const expected: Record<string, Record<string, number>> = {};
    for (const [i, kind] of KINDS.entries()) expected[kind] = { [EXPECTED[kind]]: Math.floor(FAILURES / KINDS.length) + (i < FAILURES % KINDS.length ? 1 : 0) };
    expect(byKind).toEqual(expected);
    for (const { o } of results.filter((r) => r.o.status === 502)) expect(json(o)).toEqual({ message: 'An invalid response was received from the upstream server' });
    for (const { o } of results.filter((r) => r.o.status === 504)) expect(json(o)).toEqual({ message: 'The upstream server is timing out' });
    const slowest = Math.max(...results.map((r) => r.o.ms));
    expect(slowest).toBeLessThan(READ_TIMEOUT + 5_000);

    const after = await snapshot();
    journal.figure('10,000 failures', {
      seconds,
      slowestMs: slowest,
      byKind,
      upstreamConnectionsAccepted: Object.fromEntries(Object.entries(faulty).map(([k, f]) => [k, f.accepted])),
      before: { ...before, heapUsedMB: +(before.heapUsed / MB).toFixed(1), rssMB: +(before.rss / MB).toFixed(1) },
      after: { ...after, heapUsedMB: +(after.heapUsed / MB).toFixed(1), rssMB: +(after.rss / MB).toFixed(1) },
    });

    expect(after.upstreamOpen).toBe(0);
    expect(after.sockets).toBe(before.sockets);
    expect(after.tcpHandles).toBe(before.tcpHandles);
    expect(after.timers).toBeLessThanOrEqual(before.timers);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_BOUND);
    expect(after.rss - before.rss).toBeLessThan(RSS_BOUND);
    expect(gateway.alive).toBe(true);
    expect((await send(undefined, `${gateway.url}/refused/get`, { agent: false })).status).toBe(502);
  });
});
