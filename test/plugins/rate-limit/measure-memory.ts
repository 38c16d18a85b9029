/**
 * Measures what local rate-limit counters cost in memory: not a test (jest ignores it), a script.
 *
 *   node --expose-gc --import tsx test/plugins/rate-limit/measure-memory.ts
 *
 * Each scenario runs in a child process of its own so the figures do not mix. Keys are distinct
 * IPv4 addresses, one request each, as in a flood of distinct clients.
 */
import { execFileSync } from 'node:child_process';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { LocalLimiter } from '../../../src/plugins/rate-limit/local-limiter';
import { Window } from '../../../src/plugins/rate-limit/windows';

const KEYS = 1_000_000;
const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

function settle(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage();
}

async function scenario(name: string): Promise<void> {
  const before = settle();
  const started = performance.now();
  let held: unknown;
  if (name === 'tollgate-1M') {
    const limiter = new LocalLimiter([new Window('minute', 100)], KEYS);
    for (let i = 0; i < KEYS; i++) limiter.hit(ip(i), Date.now());
    held = limiter;
  } else if (name === 'tollgate-default-bound') {
    const limiter = new LocalLimiter([new Window('minute', 100)], 100_000);
    for (let i = 0; i < KEYS; i++) limiter.hit(ip(i), Date.now());
    held = limiter;
  } else if (name === 'tollgate-1M-minute+hour') {
    const limiter = new LocalLimiter([new Window('minute', 100), new Window('hour', 1000)], KEYS);
    for (let i = 0; i < KEYS; i++) limiter.hit(ip(i), Date.now());
    held = limiter;
  } else if (name === 'rate-limiter-flexible-1M') {
    const limiter = new RateLimiterMemory({ points: 100, duration: 60 });
    for (let i = 0; i < KEYS; i++) await limiter.consume(ip(i));
    held = limiter;
  }
  const ms = performance.now() - started;
  const after = settle();
  console.log(
    `${name.padEnd(26)} rss +${mb(after.rss - before.rss).padStart(7)}  heap +${mb(after.heapUsed - before.heapUsed).padStart(7)}  ` +
      `(${((after.rss - before.rss) / KEYS).toFixed(0)} B/key rss, ${(ms / 1000).toFixed(1)} s for ${KEYS} hits)`,
  );
  if (!held) throw new Error(`unknown scenario ${name}`);
}

const which = process.argv[2];
if (which) {
  void scenario(which);
} else {
  console.log(`Node ${process.version}, ${KEYS} distinct IPv4 keys, 1 window unless stated`);
  for (const name of ['tollgate-1M', 'tollgate-1M-minute+hour', 'tollgate-default-bound', 'rate-limiter-flexible-1M']) {
    process.stdout.write(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, name], { encoding: 'utf8' }));
  }
}
