/**
 * Scale-out exactness: two gateway processes count in one shared store — one Redis, a
 * three-master Redis Cluster, PostgreSQL (the cluster policy) — and 500 concurrent requests
 * spread over both, limit 100, admit exactly 100 and refuse exactly 400 with 429, in each of
 * three rounds. The first round is a cold start: both processes have just started and their
 * first connection to the store is held (a slow link to the real store) until the burst has been
 * sent, so every request of it arrives while they are still connecting, and waits.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import Redis, { Cluster } from 'ioredis';
import pg from 'pg';
import { OwnRedisCluster } from '../support/redis-cluster';
import { SlowLink } from '../support/slow-link';
import { json, send, statusOf, tally } from './support/client';
import { GatewayChild } from './support/child';
import { useJournal } from './support/journal';
import { MID_WINDOW } from './support/timing';

const journal = useJournal('scale-out-exactness');
const LIMIT = 100;
const REQUESTS = 500;
const ROUNDS = 3;
/** How long round 1's requests are in flight before the first connections to the store are let through. */
const HOLD_MS = 500;
const run = randomBytes(4).toString('hex');

interface Setup {
  gateways: GatewayChild[];
  /** The held link to the store, released during round 1. */
  link: SlowLink;
  /** What the store holds for a round's counter after it. */
  stored(round: number): Promise<number[]>;
  stop(): Promise<void>;
}

/** Starts both gateways at once (so both are fresh when round 1 is sent). */
const twoGateways = (config: unknown) => Promise.all([0, 1].map(() => GatewayChild.start(journal, 'scale-gateway', config)));

/**
 * The rounds against one store. `start` runs in beforeAll and round 1 follows it at once; the
 * gateways' rate-limit clock stands still (MID_WINDOW), so every round counts in one minute.
 */
function rounds(store: string, start: () => Promise<Setup>, expectStored: (round: number) => number[]): void {
  describe(`rateLimit across two processes on ${store}`, () => {
    let setup: Setup | undefined;
    const figures: unknown[] = [];
    beforeAll(async () => {
      setup = await start();
    }, 60_000);
    afterAll(async () => {
      journal.figure(`${store}: ${ROUNDS} rounds of ${REQUESTS} concurrent requests, limit ${LIMIT}, round 1 from a cold start`, figures);
      await setup?.stop();
    });

    it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))('round %i: admits exactly 100 of 500 concurrent requests and refuses 400 with 429', async (round) => {
      const { gateways } = setup!;
      const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
      const started = performance.now();
      const pending = Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          const o = await send(journal, `${gateways[i % 2]!.url}/r${round}/x`, { agent, timeoutMs: 30_000 });
          return { gateway: i % 2, o, at: performance.now() };
        }),
      );
      let releasedAt = 0;
      if (round === 1) {
        await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
        releasedAt = performance.now();
        setup!.link.release();
      }
      const outcomes = await pending;
      const ms = Math.round(performance.now() - started);
      agent.destroy();
      // Cold start: no request was answered before the first connections were made.
      const firstAnswer = Math.min(...outcomes.map((x) => x.at));
      if (round === 1) expect(firstAnswer).toBeGreaterThanOrEqual(releasedAt);

      const all = outcomes.map((x) => x.o);
      // No outage either: a store failure would be a 500 here, and its cause in the children's log.
      const warnings = gateways.flatMap((g) => g.logs.filter((l) => l.level !== 'info' && l.level !== 'debug'));
      expect({ statuses: tally(all, statusOf), warnings }).toEqual({ statuses: { '200': LIMIT, '429': REQUESTS - LIMIT }, warnings: [] });
      for (const o of all.filter((x) => x.status === 429)) {
        expect(json(o)).toEqual({ message: 'API rate limit exceeded' });
        expect(Number(o.headers['retry-after'])).toBeGreaterThan(0);
      }
      // Each admitted request saw a distinct remaining count, 99 down to 0.
      const remaining = all.filter((x) => x.status === 200).map((x) => Number(x.headers['x-ratelimit-remaining-minute']));
      expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
      const admittedBy = [0, 1].map((g) => outcomes.filter((x) => x.gateway === g && x.o.status === 200).length);
      expect(await setup!.stored(round)).toEqual(expectStored(round));
      figures.push({ round, admitted: LIMIT, refused: REQUESTS - LIMIT, admittedByProcess: admittedBy, ms, ...(round === 1 ? { firstAnswerAfterReleaseMs: Math.round(firstAnswer - releasedAt) } : {}) });
    });
  });
}

/** Gateway children and a slow link, stopped together. */
async function stopAll(gateways: GatewayChild[], link: SlowLink | undefined): Promise<void> {
  await Promise.all(gateways.map((g) => g.stop()));
  await link?.close();
}

const redisPrefix = `rel-scale-${run}:`;

rounds(
  'one Redis',
  async () => {
    const link = await SlowLink.start(6379, { held: true });
    const gateways = await twoGateways({ store: 'redis', redis: [`redis://127.0.0.1:${link.port}`], prefix: redisPrefix, namespace: 'one', minute: LIMIT, rounds: ROUNDS, at: MID_WINDOW });
    const redis = new Redis('redis://127.0.0.1:6379');
    return {
      gateways,
      link,
      stored: async (round) => {
        const keys = await redis.keys(`${redisPrefix}ratelimit:one:{service:/r${round}}:minute:*`);
        return (await Promise.all(keys.map((k) => redis.get(k)))).map(Number);
      },
      stop: async () => {
        await stopAll(gateways, link);
        const keys = await redis.keys(`${redisPrefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      },
    };
  },
  () => [LIMIT],
);

rounds(
  'a three-master Redis Cluster',
  async () => {
    const cluster = await OwnRedisCluster.create();
    // Only the first node is reached through the held link; ioredis then finds the others.
    const link = await SlowLink.start(cluster.nodes[0]!.port, { held: true });
    let gateways: GatewayChild[] = [];
    try {
      const urls = [`redis://127.0.0.1:${link.port}`];
      gateways = await twoGateways({ store: 'redis-cluster', redis: urls, prefix: redisPrefix, namespace: 'cluster', minute: LIMIT, rounds: ROUNDS, at: MID_WINDOW });
    } catch (err) {
      await link.close();
      await cluster.stop();
      throw err;
    }
    const client = new Cluster(cluster.startupNodes);
    return {
      gateways,
      link,
      stored: async (round) => {
        const masters = client.nodes('master');
        const keys = (await Promise.all(masters.map((m) => m.keys(`${redisPrefix}ratelimit:cluster:{service:/r${round}}:minute:*`)))).flat();
        return (await Promise.all(keys.map((k) => client.get(k)))).map(Number);
      },
      stop: async () => {
        await stopAll(gateways, link);
        client.disconnect();
        await cluster.stop();
      },
    };
  },
  () => [LIMIT],
);

const tableName = `tg_rel_${run}`;

rounds(
  'PostgreSQL (the cluster policy)',
  async () => {
    const link = await SlowLink.start(5432, { held: true });
    const gateways = await twoGateways({ store: 'pg', pg: { port: link.port, tableName }, prefix: '', namespace: 'pg', minute: LIMIT, rounds: ROUNDS, at: MID_WINDOW });
    const admin = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 1 });
    return {
      gateways,
      link,
      stored: async (round) => {
        const rows = await admin.query<{ points: number }>(`SELECT points FROM "${tableName}" WHERE key LIKE $1`, [`minute:pg:service:/r${round}:%`]);
        return rows.rows.map((r) => Number(r.points));
      },
      stop: async () => {
        await stopAll(gateways, link);
        await admin.query(`DROP TABLE IF EXISTS "${tableName}"`);
        await admin.end();
      },
    };
  },
  // rate-limiter-flexible's row counts every request of the window, the 400 it refused too.
  () => [REQUESTS],
);

