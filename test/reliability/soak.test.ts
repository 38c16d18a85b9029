/**
 * A bounded soak: steady load through the full stack in its own process — cache hits and misses,
 * client credentials, 401s and 429s — for SOAK_SECONDS (60 by default), with the heap measured
 * after a forced GC every two seconds. Memory stays flat: the median heap (and the median memory
 * held outside it, Buffers included) of the last third of the run exceeds that of the first third
 * by less than HEAP_BOUND.
 */
import http from 'node:http';
import { send, statusOf, tally, type Outcome } from './support/client';
import { startFullStack, type FullStack } from './support/full-stack';
import { useJournal } from './support/journal';
import { fuzzSeed, Prng } from './support/prng';
import { quantile, sleep } from './support/timing';

const journal = useJournal('soak');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const WARM_UP_SECONDS = Math.max(5, SECONDS / 10);
const CONCURRENCY = 8;
const SAMPLE_EVERY_MS = 2_000;
const TIGHT_LIMIT = 30;
const MB = 1024 * 1024;
/** Allowed growth of the median post-GC heap (and, apart, of external memory) from the first third to the last. */
const HEAP_BOUND = 4 * MB;

let stack: FullStack;
beforeAll(async () => {
  stack = await startFullStack(journal, { tightLimit: TIGHT_LIMIT, cacheTtl: 5, cacheMaxBytes: 1 * MB });
});
afterAll(() => stack.close());

interface Sample {
  at: number;
  heapUsed: number;
  external: number;
  rss: number;
}

describe(`the full stack under ${SECONDS} s of steady load`, () => {
  it('serves hits, misses, 401s and 429s, never 5xx, with a flat heap', async () => {
    const rng = new Prng(fuzzSeed());
    const tokens = await Promise.all([1, 2, 3].map((n) => stack.bearer({ sub: `user-${n}`, azp: `spa-${n}` })));
    const wrongBasic = `Basic ${Buffer.from(`${stack.client.id}:not-the-secret`).toString('base64')}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    let misses = 0;
    const request = (): { kind: string; path: string; authorization: string } => {
      const roll = rng.next();
      if (roll < 0.45) return { kind: 'hit', path: `/api/get?page=${rng.int(0, 19)}`, authorization: rng.pick(tokens) };
      if (roll < 0.65) return { kind: 'miss', path: `/api/anything?n=${misses++}`, authorization: rng.pick(tokens) };
      if (roll < 0.75) return { kind: 'client', path: `/api/get?cc=${rng.int(0, 9)}`, authorization: stack.client.basic };
      if (roll < 0.8) return { kind: 'bad', path: '/api/get', authorization: `Bearer ${rng.string('abcdef0123456789', 40)}` };
      if (roll < 0.85) return { kind: 'bad', path: '/api/get', authorization: wrongBasic };
      return { kind: 'tight', path: `/tight/get?t=${rng.int(0, 3)}`, authorization: tokens[0]! };
    };

    const outcomes: { kind: string; o: Outcome }[] = [];
    const samples: Sample[] = [];
    const started = Date.now();
    const ends = started + SECONDS * 1000;
    const worker = async () => {
      while (Date.now() < ends) {
        const r = request();
        outcomes.push({ kind: r.kind, o: await send(journal, `${stack.gateway.url}${r.path}`, { agent, headers: { authorization: r.authorization }, timeoutMs: 10_000 }) });
      }
    };
    const sampler = async () => {
      while (Date.now() < ends) {
        await sleep(SAMPLE_EVERY_MS);
        const stats = await stack.gateway.stats();
        samples.push({ at: (Date.now() - started) / 1000, heapUsed: stats.heapUsed, external: stats.external, rss: stack.gateway.rss() });
      }
    };
    await Promise.all([...Array.from({ length: CONCURRENCY }, worker), sampler()]);
    agent.destroy();

    // Outcomes: only what each kind of request calls for, and something of each.
    const byKind: Record<string, Record<string, number>> = {};
    for (const kind of ['hit', 'miss', 'client', 'bad', 'tight']) byKind[kind] = tally(outcomes.filter((x) => x.kind === kind).map((x) => x.o), statusOf);
    expect(Object.keys(byKind.hit!)).toEqual(['200']);
    expect(Object.keys(byKind.miss!)).toEqual(['200']);
    expect(Object.keys(byKind.client!)).toEqual(['200']);
    expect(Object.keys(byKind.bad!)).toEqual(['401']);
    expect(Object.keys(byKind.tight!).sort()).toEqual(['200', '429']);
    const cache = tally(outcomes.filter((x) => x.o.status === 200 && x.kind !== 'tight').map((x) => x.o), (o) => String(o.headers['x-cache-status']));
    expect(cache.Hit).toBeGreaterThan(0);
    expect(cache.Miss).toBeGreaterThan(0);
    // The access token the IdP issued to the machine client, as the upstream saw it: a token the secrets check looks for.
    const seen = JSON.parse(outcomes.find((x) => x.kind === 'client')!.o.body.toString()) as { headers: { authorization: string } };
    journal.token(seen.headers.authorization.slice(7));
    expect(stack.gateway.alive).toBe(true);
    expect(stack.gateway.logs.filter((l) => l.level === 'error')).toEqual([]);

    // Memory: the samples after the warm-up, in thirds.
    const measured = samples.filter((s) => s.at > WARM_UP_SECONDS);
    expect(measured.length).toBeGreaterThanOrEqual(6);
    const third = Math.floor(measured.length / 3);
    const first = measured.slice(0, third);
    const last = measured.slice(-third);
    const median = (xs: Sample[], key: 'heapUsed' | 'external' | 'rss') => quantile(xs.map((s) => s[key]), 0.5);
    const growth = median(last, 'heapUsed') - median(first, 'heapUsed');
    const externalGrowth = median(last, 'external') - median(first, 'external');
    const mb = (n: number) => +(n / MB).toFixed(2);
    journal.figure(`soak ${SECONDS} s, ${CONCURRENCY} connections`, {
      requests: outcomes.length,
      perSecond: Math.round(outcomes.length / SECONDS),
      byKind,
      cache,
      p99ms: quantile(outcomes.map((x) => x.o.ms), 0.99),
      heapMedianFirstThirdMB: mb(median(first, 'heapUsed')),
      heapMedianLastThirdMB: mb(median(last, 'heapUsed')),
      heapGrowthMB: mb(growth),
      externalMedianFirstThirdMB: mb(median(first, 'external')),
      externalMedianLastThirdMB: mb(median(last, 'external')),
      rssMedianFirstThirdMB: mb(median(first, 'rss')),
      rssMedianLastThirdMB: mb(median(last, 'rss')),
      samples: measured.length,
    });
    expect(growth).toBeLessThan(HEAP_BOUND);
    expect(externalGrowth).toBeLessThan(HEAP_BOUND);
  }, SECONDS * 1000 + 60_000);
});
