/**
 * `policy: 'cluster'`: counters in the machine's real PostgreSQL (127.0.0.1:5432, db test) and
 * MariaDB (127.0.0.1:3306, db test), in tables of this run's own, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import pg from 'pg';
import { rateLimit, type RateLimitOptions, type RateLimitPlugin } from 'tollgate';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { SqlLimiter } from '../../../src/plugins/rate-limit/sql-limiter';
import { Window } from '../../../src/plugins/rate-limit/windows';
import { sqlOption } from '../../../src/stores/sql';
import { freePort } from '../../support/ports';
import { captureLogs, testClock } from './support';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const run = randomBytes(4).toString('hex');
/** Every plugin of this file counts on one standing clock (each test has a table of its own). */
const clock = testClock();
let tables = 0;
/** A table name no other run (or helper) uses. */
const table = () => `tg_rl_${run}_${++tables}`;

/** Ends a pool of either client (mysql2's callback pool throws an error it has no callback for). */
async function endPool(pool: object): Promise<void> {
  if (pool instanceof pg.Pool) return pool.end();
  if ('pool' in pool) return (pool as mysqlPromise.Pool).end(); // mysql2/promise's wrapper
  await new Promise<void>((resolve) => (pool as { end(cb: () => void): unknown }).end(() => resolve()));
}

interface Database {
  type: 'pg' | 'mysql2';
  /** A new pool of the app's (each instance of a service has its own). */
  pool(): object;
  count(tableName: string): Promise<{ key: string; points: number }[]>;
  drop(tableName: string): Promise<void>;
  end(): Promise<void>;
}

function postgres(): Database {
  const pools: pg.Pool[] = [];
  const admin = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 2 });
  return {
    type: 'pg',
    pool: () => {
      const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 10 });
      pools.push(pool);
      return pool;
    },
    count: async (t) => (await admin.query<{ key: string; points: number }>(`SELECT key, points FROM "${t}" ORDER BY key`)).rows,
    drop: async (t) => void (await admin.query(`DROP TABLE IF EXISTS "${t}"`)),
    end: async () => {
      await Promise.all([...pools, admin].map((p) => p.end()));
    },
  };
}

function mariadb(): Database {
  const pools: object[] = [];
  const admin = mysqlPromise.createPool({ host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test', connectionLimit: 2 });
  let n = 0;
  return {
    type: 'mysql2',
    // Both of mysql2's APIs: the callback pool and the promise wrapper around one.
    pool: () => {
      const options = { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test', connectionLimit: 10 };
      const pool = n++ % 2 === 0 ? mysql.createPool(options) : mysqlPromise.createPool(options);
      pools.push(pool);
      return pool;
    },
    count: async (t) => (await admin.query(`SELECT \`key\`, points FROM \`${t}\` ORDER BY \`key\``))[0] as { key: string; points: number }[],
    drop: async (t) => void (await admin.query(`DROP TABLE IF EXISTS \`${t}\``)),
    end: async () => {
      await Promise.all(pools.map((p) => endPool(p)));
      await admin.end();
    },
  };
}

describe.each([
  ['PostgreSQL', postgres],
  ['MariaDB', mariadb],
] as const)('rateLimit (cluster policy) on %s', (_name, open) => {
  let db: Database;
  const made: string[] = [];
  const plugins: RateLimitPlugin[] = [];
  const limit = (tableName: string, options: Omit<RateLimitOptions, 'policy' | 'cluster'>, pool = db.pool()): RateLimitPlugin => {
    if (!made.includes(tableName)) made.push(tableName);
    const plugin = rateLimit({ policy: 'cluster', cluster: { client: pool, type: db.type, tableName }, now: clock, ...options });
    plugins.push(plugin);
    return plugin;
  };
  beforeAll(() => {
    db = open();
  });
  afterAll(async () => {
    await Promise.all(plugins.map((p) => p.close()));
    for (const t of made) await db.drop(t);
    await db.end();
  });
  it('counts down 4, 3, 2, 1, 0 on a 5-per-hour limit, then answers 429 with Retry-After', async () => {
    const plugin = limit(table(), { hour: 5, limitBy: 'ip' });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await runPlugin(plugin, createTestContext()));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(results.map((r) => r.headers['x-ratelimit-remaining-hour'])).toEqual(['4', '3', '2', '1', '0', '0']);
    expect(results[5]!.body).toEqual({ message: 'API rate limit exceeded' });
    expect(results[5]!.headers['retry-after']).toBe(results[5]!.headers['ratelimit-reset']);
  });

  it('admits exactly the limit from 80 concurrent requests to two fresh instances, each with its own pool', async () => {
    const t = table();
    const options = { hour: 25, limitBy: 'ip' as const, namespace: 'exact' };
    // Both create the table at once, and every request arrives before it exists.
    const instances = [limit(t, options), limit(t, options)];
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => runPlugin(instances[i % 2]!, createTestContext({ ip: '203.0.113.5' }))));
    expect(results.filter((r) => r.status === 200)).toHaveLength(25);
    expect(results.filter((r) => r.status === 429)).toHaveLength(55);
    const remaining = results.filter((r) => r.status === 200).map((r) => Number(r.headers['x-ratelimit-remaining-hour']));
    expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    // One row, for the current hour; it holds the admitted requests and the refused ones (capped in the headers).
    const rows = await db.count(t);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key).toMatch(/^hour:exact:203\.0\.113\.5:\d+$/);
    expect(Number(rows[0]!.points)).toBe(80);
  });

  it('creates the table once when many instances start at the same moment, without an outage', async () => {
    const logs = captureLogs();
    try {
      // Concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL ("already exists": 42P07, or
      // 42710 for the row type, or 23505). Pools already connected make the statements overlap;
      // the race is lost about once in ten starts, so ten starts, each on a table of its own.
      for (let start = 0; start < 10; start++) {
        const t = table();
        made.push(t);
        const pools = [db.pool(), db.pool()];
        for (const pool of pools) if (pool instanceof pg.Pool) await pool.query('SELECT 1');
        const instances = Array.from({ length: 6 }, (_, i) =>
          rateLimit({ hour: 100, limitBy: 'ip', namespace: 'race', now: clock, policy: 'cluster', cluster: { client: pools[i % 2]!, type: db.type, tableName: t } }),
        );
        const results = await Promise.all(instances.map((p) => runPlugin(p, createTestContext())));
        expect({ start, counted: results.map((r) => r.headers['x-ratelimit-limit-hour']) }).toEqual({ start, counted: instances.map(() => '100') });
        await Promise.all(instances.map((p) => p.close()));
      }
      expect(logs.lines.filter((l) => l.level === 'warn')).toEqual([]);
    } finally {
      logs.restore();
    }
  });

  it('keeps clients, namespaces and windows apart, with keys safe for any identifier', async () => {
    const t = table();
    const a = limit(t, { minute: 2, hour: 3, limitBy: 'header', headerName: 'x-key', namespace: 'a' });
    const b = limit(t, { minute: 2, hour: 3, limitBy: 'header', headerName: 'x-key', namespace: 'B' });
    const as = (key: string) => createTestContext({ headers: { 'x-key': key } });
    // MySQL compares keys case-insensitively: "Key" and "key" must still be two clients.
    for (const key of ['key', 'Key', 'k\u00e9y', `${'x'.repeat(60)}`]) {
      expect([(await runPlugin(a, as(key))).status, (await runPlugin(a, as(key))).status, (await runPlugin(a, as(key))).status]).toEqual([200, 200, 429]);
    }
    expect((await runPlugin(b, as('key'))).headers['x-ratelimit-remaining-minute']).toBe('1');
    const keys = (await db.count(t)).map((r) => r.key);
    expect(keys.every((k) => k.length <= 255 && /^[a-z0-9._:/#-]+$/.test(k))).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('lets requests through without headers when the database is unreachable, or answers 500, logging once', async () => {
    const dead = await freePort();
    const pool =
      db.type === 'pg'
        ? new pg.Pool({ host: '127.0.0.1', port: dead, user: 'postgres', database: 'test' })
        : mysql.createPool({ host: '127.0.0.1', port: dead, user: 'root', database: 'test' });
    const logs = captureLogs();
    try {
      const tolerant = limit(table(), { hour: 5 }, pool);
      const strict = limit(table(), { hour: 5, faultTolerant: false }, pool);
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const [ok, refused] = await Promise.all([runPlugin(tolerant, createTestContext()), runPlugin(strict, createTestContext())]);
        expect(performance.now() - started).toBeLessThan(1_000);
        expect(ok.status).toBe(200);
        expect(Object.keys(ok.headers).filter((h) => /ratelimit|retry-after/.test(h))).toEqual([]);
        expect(refused.status).toBe(500);
        expect(refused.body).toEqual({ message: 'An unexpected error occurred' });
      }
      const name = db.type === 'pg' ? 'PostgreSQL' : 'MySQL';
      expect(logs.count('warn', new RegExp(`^rateLimit: ${name} is unavailable$`))).toBe(2); // once per plugin
    } finally {
      logs.restore();
      await endPool(pool);
    }
  });

  it('waits at most connectTimeout for a database that does not answer, then at most commandTimeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const pool =
      db.type === 'pg'
        ? new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', database: 'test', connectionTimeoutMillis: 5_000 })
        : mysql.createPool({ host: '127.0.0.1', port, user: 'root', database: 'test', connectTimeout: 5_000 });
    const logs = captureLogs();
    try {
      const plugin = rateLimit({ hour: 5, policy: 'cluster', now: clock, cluster: { client: pool, type: db.type, tableName: table(), connectTimeout: 300, commandTimeout: 100 } });
      plugins.push(plugin);
      let started = performance.now();
      expect((await runPlugin(plugin, createTestContext())).status).toBe(200);
      let took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(800);
      // The table is still not ready: failing fast for a second, then a try bounded by commandTimeout.
      started = performance.now();
      expect((await runPlugin(plugin, createTestContext())).status).toBe(200);
      took = performance.now() - started;
      expect(took).toBeLessThan(200);
      expect(logs.count('warn', /is unavailable/)).toBe(1);
    } finally {
      logs.restore();
      await plugins.pop()!.close();
      const ended = endPool(pool);
      for (const s of sockets) s.destroy();
      await ended;
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe('with several windows', () => {
    // The limiter itself, with the clock in the test's hands: three minutes of one hour.
    const windows = () => [new Window('minute', 3), new Window('hour', 5)];
    const hour = Math.floor(Date.now() / HOUR) * HOUR + 100 * HOUR;

    it('decides as one atomic check would: the hour binds in the second minute, concurrently', async () => {
      const t = table();
      made.push(t);
      const config = sqlOption().check({ client: db.pool(), type: db.type, tableName: t }, 'cluster', { plugin: 'test' });
      const limiters = [new SqlLimiter(windows(), config, 'multi'), new SqlLimiter(windows(), config, 'multi')];
      const burst = async (minute: number) => {
        const now = hour + minute * MINUTE + 1_000;
        const decisions = await Promise.all(Array.from({ length: 12 }, (_, i) => limiters[i % 2]!.hit('c', now)));
        return decisions.filter((d) => d.allowed).length;
      };
      // Minute 0: the minute limit (3) binds. Minute 1: the hour has 2 left. Minute 2: none.
      expect([await burst(0), await burst(1), await burst(2)]).toEqual([3, 2, 0]);
      // Each minute row holds its admitted requests and those it refused itself; a request the
      // hour refused was given back to its minute and stays in the hour row. So the rows add up
      // to the 36 requests plus the 5 admitted (counted in both), whatever the interleaving.
      const rows = await db.count(t);
      const hourRow = rows.find((r) => r.key.startsWith('hour:'))!;
      const minuteRows = rows.filter((r) => r.key.startsWith('minute:'));
      expect(minuteRows).toHaveLength(3);
      expect(minuteRows.reduce((n, r) => n + Number(r.points), 0) + Number(hourRow.points)).toBe(36 + 5);
      expect(Number(hourRow.points)).toBeGreaterThanOrEqual(5 + 1);
      await Promise.all(limiters.map((l) => l.close()));
    });

    it('shows each window its own count on a refused request (capped at the limit)', async () => {
      const t = table();
      made.push(t);
      const config = sqlOption().check({ client: db.pool(), type: db.type, tableName: t }, 'cluster', { plugin: 'test' });
      const limiter = new SqlLimiter(windows(), config, 'headers');
      const now = hour + 1_000;
      const used = [];
      for (let i = 0; i < 5; i++) used.push((await limiter.hit('c', now)).used);
      expect(used).toEqual([[1, 1], [2, 2], [3, 3], [3, 3], [3, 3]]);
      const later = hour + MINUTE + 1_000;
      for (let i = 0; i < 4; i++) used.push((await limiter.hit('c', later)).used);
      expect(used.slice(5)).toEqual([[1, 4], [2, 5], [2, 5], [2, 5]]);
      await limiter.close();
    });
  });
});
