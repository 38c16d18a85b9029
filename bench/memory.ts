/**
 * Memory figures, each measured in a fresh process (argv[2]):
 * - `ratelimit <maxKeys>`: RSS after 1,000,000 distinct client IPs through rateLimit in local mode;
 * - `cache`: RSS with the memory proxy cache filled past its byte bound.
 * Prints one JSON line.
 */
import { proxyCache, rateLimit } from 'tollgate';
import { createTestContext, runPlugin } from 'tollgate/testing';

const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
/** Several full collections with turns of the event loop between, so finalised buffers are freed. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    collect();
    await new Promise((r) => setImmediate(r));
  }
}
const mb = (n: number) => Math.round(n / 2 ** 20);

async function rateLimitKeys(maxKeys: number) {
  const plugin = rateLimit({ minute: 5, policy: 'local', limitBy: 'ip', maxKeys });
  await settle();
  const before = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const keys = 1_000_000;
  for (let i = 0; i < keys; i++) {
    const ip = `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    const ctx = createTestContext({ ip });
    const pending = plugin.access!(ctx, ctx.local(plugin));
    if (pending) await pending;
  }
  await settle();
  const after = process.memoryUsage();
  return { keys, maxKeys, rssBeforeMB: mb(before), rssAfterMB: mb(after.rss), heapGrowthMB: mb(after.heapUsed - heapBefore) };
}

async function cacheAtBound() {
  const maxBytes = 64 * 2 ** 20;
  const plugin = proxyCache({ strategy: 'memory', memory: { maxBytes } });
  const body = 'x'.repeat(16 * 1024);
  await settle();
  const before = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const entries = Math.ceil((2 * maxBytes) / body.length); // twice the bound: eviction must hold it
  for (let i = 0; i < entries; i++) {
    await runPlugin(plugin, createTestContext({ url: `/item/${i}` }), { status: 200, headers: { 'content-type': 'text/plain' }, body });
  }
  await settle();
  const after = process.memoryUsage();
  return { maxBytesMB: mb(maxBytes), bytesWrittenMB: mb(entries * body.length), rssBeforeMB: mb(before), rssAfterMB: mb(after.rss), heapGrowthMB: mb(after.heapUsed - heapBefore), externalMB: mb(after.external) };
}

async function main() {
  const what = process.argv[2];
  const result = what === 'ratelimit' ? await rateLimitKeys(Number(process.argv[3] ?? 100_000)) : await cacheAtBound();
  console.log(JSON.stringify(result));
}

void main();
