/**
 * rateLimit and proxyCache on a real three-master Redis Cluster started by this file: with
 * `redis: { cluster }` (tollgate's own ioredis Cluster) and `redis: { client }` (the app's), from
 * a cold start, across every master, and while one master is down.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Redis, { Cluster } from 'ioredis';
import { proxyCache, rateLimit, type ProxyCachePlugin, type RateLimitOptions, type RateLimitPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { captureLogs, sleep, testClock, uniquePrefix } from '../plugins/rate-limit/support';
import { OwnRedisCluster } from '../support/redis-cluster';
import type { OwnRedis } from '../support/redis-server';

/** Every rate limiter of this file counts on one standing clock (each test has its own key prefix). */
const clock = testClock();
let cluster: OwnRedisCluster;
const plugins: (RateLimitPlugin | ProxyCachePlugin)[] = [];
const appClients: Cluster[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  cluster = await OwnRedisCluster.create();
}, 30_000);
afterAll(async () => {
  await Promise.all(plugins.map((p) => p.close()));
  for (const c of appClients) c.disconnect();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await cluster?.stop();
});
/** An app's own ioredis Cluster client, disconnected after the file. */
const appCluster = (): Cluster => {
  const client = new Cluster(cluster.startupNodes);
  appClients.push(client);
  return client;
};
const limit = (options: Omit<RateLimitOptions, 'policy'>): RateLimitPlugin => {
  const plugin = rateLimit({ policy: 'redis', now: clock, ...options });
  plugins.push(plugin);
  return plugin;
};
const cache = (options: Parameters<typeof proxyCache>[0]): ProxyCachePlugin => {
  const plugin = proxyCache(options);
  plugins.push(plugin);
  return plugin;
};
async function listen(...mounted: Parameters<typeof gateway>): Promise<{ url: string; calls: () => number }> {
  let calls = 0;
  const app = express();
  app.use(gateway(...mounted));
  app.get('/json', (req, res) => void res.json({ n: ++calls, q: req.query }));
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
}
const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
};

/** The keys under `prefix` on each master, by port. */
async function keysByNode(prefix: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const node of cluster.nodes.filter((n) => n.running)) {
    const r = new Redis(node.port, '127.0.0.1');
    out.set(node.port, await r.keys(`${prefix}*`));
    r.disconnect();
  }
  return out;
}

describe('rateLimit on a Redis Cluster', () => {
  it('admits exactly the limit for each of many clients on every master, from two fresh instances', async () => {
    const prefix = uniquePrefix('cluster-exact');
    const options = { hour: 4, limitBy: 'ip' as const, namespace: 'exact' };
    // One instance owns its Cluster client, the other uses the app's; both are still connecting.
    const instances = [limit({ ...options, redis: { cluster: cluster.urls, prefix } }), limit({ ...options, redis: { client: appCluster(), prefix } })];
    const ips = Array.from({ length: 24 }, (_, i) => `198.51.100.${i + 1}`);
    const results = await Promise.all(
      ips.flatMap((ip) => Array.from({ length: 10 }, (_, j) => runPlugin(instances[j % 2]!, createTestContext({ ip })).then((r) => ({ ip, status: r.status })))),
    );
    for (const ip of ips) {
      const mine = results.filter((r) => r.ip === ip);
      expect({ ip, admitted: mine.filter((r) => r.status === 200).length, refused: mine.filter((r) => r.status === 429).length }).toEqual({ ip, admitted: 4, refused: 6 });
    }
    // The clients' counters are spread over all three masters.
    const byNode = await keysByNode(prefix);
    expect([...byNode.values()].map((keys) => keys.length).filter((n) => n > 0)).toHaveLength(3);
    expect([...byNode.values()].flat()).toHaveLength(24);
  });

  it('keeps every window of a client in one slot whatever its identifier holds (braces, a leading #)', async () => {
    const plugin = limit({ minute: 2, hour: 5, limitBy: 'header', headerName: 'x-api-key', redis: { cluster: cluster.urls, prefix: uniquePrefix('tags') } });
    const values = ['a}b', '{x}', '{', '}{', '#tag', 'plain', '{}'];
    for (const value of values) {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await runPlugin(plugin, createTestContext({ headers: { 'x-api-key': value } }))).status);
      // Counted (a script touching two slots would fail with CROSSSLOT and let everything through).
      expect({ value, statuses }).toEqual({ value, statuses: [200, 200, 429] });
    }
  });
});

describe('proxyCache on a Redis Cluster', () => {
  it('shares entries between two instances, spread over the masters, and purges them on every master', async () => {
    const prefix = uniquePrefix('cluster-cache');
    const own = cache({ strategy: 'redis', redis: { cluster: cluster.urls, prefix } });
    const theirs = cache({ strategy: 'redis', redis: { client: appCluster(), prefix } });
    const a = await listen(own);
    const b = await listen(theirs);
    const paths = Array.from({ length: 12 }, (_, i) => `/json?i=${i}`);
    const first = await Promise.all(paths.map((p) => get(a.url + p)));
    expect(first.map((r) => r.headers.get('x-cache-status'))).toEqual(paths.map(() => 'Miss'));
    await sleep(50); // writes are fire-and-forget
    const second = await Promise.all(paths.map((p) => get(b.url + p)));
    expect(second.map((r) => r.headers.get('x-cache-status'))).toEqual(paths.map(() => 'Hit'));
    expect(second.map((r) => r.body)).toEqual(first.map((r) => r.body));
    expect(b.calls()).toBe(0);
    const byNode = await keysByNode(prefix);
    expect([...byNode.values()].filter((keys) => keys.length > 0).length).toBeGreaterThan(1);

    await theirs.purgeAll();
    expect([...(await keysByNode(prefix)).values()].flat()).toEqual([]);
    expect((await get(a.url + paths[0]!)).headers.get('x-cache-status')).toBe('Miss');
  });
});

describe('rateLimit and proxyCache when one master of the cluster stops', () => {
  it('fail only the keys of that master (per faultTolerant, within commandTimeout); the others keep working, and all resume when it returns', async () => {
    const logs = captureLogs();
    try {
      const prefix = uniquePrefix('cluster-down');
      const redis = { cluster: cluster.urls, prefix, commandTimeout: 300 };
      const tolerant = limit({ hour: 100, limitBy: 'ip', namespace: 'tolerant', redis });
      const strict = limit({ hour: 100, limitBy: 'ip', namespace: 'strict', redis, faultTolerant: false });
      const cached = cache({ strategy: 'redis', redis });
      const app = await listen(cached);

      const victim = cluster.nodes[0]!;
      const ips = Array.from({ length: 12 }, (_, i) => `192.0.2.${i + 1}`);
      const owners = await cluster.nodesFor(ips);
      const onVictim = new Map(ips.map((ip, i) => [ip, owners[i] === victim]));
      const paths = Array.from({ length: 12 }, (_, i) => `/json?i=${i}`);
      const stored = await Promise.all(paths.map((p) => get(app.url + p)));
      const holders = await cluster.nodesFor(stored.map((res) => `${prefix}proxy-cache:${res.headers.get('x-cache-key')}`));
      const keys = new Map<string, OwnRedis>(paths.map((p, i) => [p, holders[i]!]));
      await Promise.all(ips.map((ip) => runPlugin(tolerant, createTestContext({ ip }))));
      expect([...onVictim.values()]).toContain(true);
      expect([...onVictim.values()]).toContain(false);
      expect([...keys.values()]).toContain(victim);
      await sleep(50);

      await victim.kill();
      for (let round = 0; round < 2; round++) {
        const started = performance.now();
        const [counted, refused, served] = await Promise.all([
          Promise.all(ips.map((ip) => runPlugin(tolerant, createTestContext({ ip })))),
          Promise.all(ips.map((ip) => runPlugin(strict, createTestContext({ ip })))),
          Promise.all(paths.map((p) => get(app.url + p))),
        ]);
        // Nothing hangs: every answer within the command timeout plus a margin.
        expect(performance.now() - started).toBeLessThan(1_500);
        ips.forEach((ip, i) => {
          const down = onVictim.get(ip)!;
          // faultTolerant: through, uncounted; otherwise still counted by the living masters.
          expect({ ip, remaining: counted[i]!.headers['x-ratelimit-remaining-hour'] }).toEqual({ ip, remaining: down ? undefined : String(98 - round) });
          expect({ ip, status: refused[i]!.status }).toEqual({ ip, status: down ? 500 : 200 });
          expect(counted[i]!.status).toBe(200);
        });
        paths.forEach((p, i) => {
          expect({ p, cache: served[i]!.headers.get('x-cache-status') }).toEqual({ p, cache: keys.get(p) === victim ? 'Bypass' : 'Hit' });
          expect(served[i]!.status).toBe(200);
        });
      }
      expect(logs.count('warn', /rateLimit: Redis is unavailable/)).toBe(2); // once per rateLimit plugin
      expect(logs.count('info', /available again/)).toBe(0);

      await victim.start(); // the same node (nodes.conf kept), without its data
      await cluster.waitUntilOk();
      let resumed = false;
      for (let i = 0; i < 100 && !resumed; i++) {
        const r = await Promise.all(ips.map((ip) => runPlugin(tolerant, createTestContext({ ip }))));
        resumed = r.every((x) => x.headers['x-ratelimit-remaining-hour'] !== undefined);
        if (!resumed) await sleep(100);
      }
      expect(resumed).toBe(true);
    } finally {
      logs.restore();
    }
  }, 30_000);
});
