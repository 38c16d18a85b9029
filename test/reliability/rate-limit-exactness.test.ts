/**
 * Two gateway processes count in one Redis: 500 concurrent requests spread over both, limit 100,
 * admit exactly 100 and refuse exactly 400 with 429 — in each of three rounds. Uses the shared
 * Redis on 6379 under a key prefix of its own.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import Redis from 'ioredis';
import { json, send, statusOf, tally, type Outcome } from './support/client';
import { GatewayChild } from './support/child';
import { useJournal } from './support/journal';
import { MID_WINDOW, until } from './support/timing';

const journal = useJournal('rate-limit-exactness');
const LIMIT = 100;
const REQUESTS = 500;
const ROUNDS = 3;
const prefix = `rel-exact-${randomBytes(4).toString('hex')}:`;

const gateways: GatewayChild[] = [];
let redis: Redis;

beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379');
  // Each round counts on a mount of its own (`/r<round>`), on the same two processes.
  const config = { redisUrl: 'redis://127.0.0.1:6379', prefix, namespace: 'exact', minute: LIMIT, rounds: ROUNDS, at: MID_WINDOW };
  for (let i = 0; i < 2; i++) gateways.push(await GatewayChild.start(journal, 'rate-limit-gateway', config));
  // Every Redis client connected: a request on each mount answers with rate-limit headers.
  const connected = async (url: string) => ((await send(undefined, url)).headers['x-ratelimit-limit-minute'] ? true : undefined);
  for (const g of gateways) await until(() => connected(`${g.url}/warm/`), 5_000);
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('rateLimit with Redis across two processes', () => {
  const rounds: unknown[] = [];
  afterAll(() => journal.figure(`${ROUNDS} rounds of ${REQUESTS} concurrent requests, limit ${LIMIT}`, rounds));

  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))('round %i: admits exactly 100 of 500 concurrent requests and refuses 400 with 429', async (round) => {
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const started = performance.now();
    const outcomes: { gateway: number; o: Outcome }[] = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => ({ gateway: i % 2, o: await send(journal, `${gateways[i % 2]!.url}/r${round}/x`, { agent, timeoutMs: 20_000 }) })),
    );
    const ms = Math.round(performance.now() - started);
    agent.destroy();

    const all = outcomes.map((x) => x.o);
    expect(tally(all, statusOf)).toEqual({ '200': LIMIT, '429': REQUESTS - LIMIT });
    for (const o of all.filter((x) => x.status === 429)) {
      expect(json(o)).toEqual({ message: 'API rate limit exceeded' });
      expect(Number(o.headers['retry-after'])).toBeGreaterThan(0);
    }
    // The script runs atomically: each admitted request saw a distinct remaining count, 99 down to 0.
    const remaining = all.filter((x) => x.status === 200).map((x) => Number(x.headers['x-ratelimit-remaining-minute']));
    expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
    const admittedBy = [0, 1].map((g) => outcomes.filter((x) => x.gateway === g && x.o.status === 200).length);
    expect(admittedBy[0]! + admittedBy[1]!).toBe(LIMIT);
    // And Redis holds exactly the limit.
    const keys = await redis.keys(`${prefix}ratelimit:exact:{service:/r${round}}:minute:*`);
    const counts = await Promise.all(keys.map((k) => redis.get(k)));
    expect(counts.map(Number)).toEqual([LIMIT]);
    rounds.push({ round, admitted: LIMIT, refused: REQUESTS - LIMIT, admittedByProcess: admittedBy, ms });
  });
});
