/**
 * The proxy cache's Redis store: entries shared by every instance, expiring by Redis TTL.
 *
 * Redis being down must never turn into an error or a wait for the client: a lookup is refused at
 * once during an outage, bounded by `commandTimeout` otherwise, and writes are fire-and-forget.
 * The plugin answers those as `Bypass`. A fresh instance's first lookups wait for the first
 * connection (at most `connectTimeout`), so they are answered from the shared cache, not bypassed.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../core/logger';
import type { RedisConfig } from './redis';
import { RedisConnection } from './redis';
import type { CachedResponse, ResponseStore } from './response-store';

const VERSION = 1;

interface Meta {
  v: number;
  s: number;
  h: Record<string, string | string[]>;
  t: number;
  ttl: number;
  a: number;
  vary?: Record<string, string | null>;
  r?: 1;
}

/**
 * Serialises an entry as one Redis value: a 4-byte length, the JSON metadata, then the body bytes
 * as they are (no base64 inflation).
 */
export function encodeEntry(entry: CachedResponse): Buffer {
  const meta: Meta = { v: VERSION, s: entry.status, h: entry.headers as Meta['h'], t: entry.storedAt, ttl: entry.ttl, a: entry.initialAge };
  if (entry.vary) meta.vary = entry.vary as Meta['vary'];
  if (entry.mustRevalidate) meta.r = 1;
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  return Buffer.concat([head, json, entry.body]);
}

/** The entry in a Redis value, or undefined for anything else (another version, garbage). */
export function decodeEntry(raw: Buffer): CachedResponse | undefined {
  if (raw.length < 4) return undefined;
  const n = raw.readUInt32BE(0);
  if (4 + n > raw.length) return undefined;
  let meta: Meta;
  try {
    meta = JSON.parse(raw.subarray(4, 4 + n).toString('utf8')) as Meta;
  } catch {
    return undefined;
  }
  if (typeof meta !== 'object' || meta === null || meta.v !== VERSION || typeof meta.s !== 'number' || typeof meta.h !== 'object') return undefined;
  return {
    status: meta.s,
    headers: meta.h,
    body: raw.subarray(4 + n),
    storedAt: meta.t,
    ttl: meta.ttl,
    initialAge: meta.a,
    ...(meta.vary ? { vary: meta.vary } : {}),
    ...(meta.r ? { mustRevalidate: true } : {}),
  };
}

/** Escapes glob characters so a key prefix matches itself in `SCAN MATCH`. */
const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, '\\$&');

/** Cached responses in Redis, under `<prefix>proxy-cache:<key>`. */
export class RedisResponseStore implements ResponseStore {
  private readonly conn: RedisConnection;
  private readonly namespace: string;

  /**
   * @param owner - the plugin, as the outage log names it
   * @param logger - the plugin's own logger, if it was given one
   */
  constructor(config: RedisConfig, owner = 'proxyCache', logger?: Logger) {
    this.conn = new RedisConnection(config, owner, logger);
    this.namespace = `${this.conn.prefix}proxy-cache:`;
  }

  /** True while connected or still making the first connection (lookups then wait for it). */
  get available(): boolean {
    return this.conn.usable;
  }

  get(key: string): Promise<CachedResponse | undefined> {
    return this.conn.run((client) => client.getBuffer(this.namespace + key)).then((raw) => (raw ? decodeEntry(raw) : undefined));
  }

  set(key: string, entry: CachedResponse, storageMs: number): void {
    if (!this.conn.usable) return;
    // Fire and forget: a failed write is reported by the connection (once), never to the client.
    this.conn.run((client) => client.set(this.namespace + key, encodeEntry(entry), 'PX', Math.max(1, Math.ceil(storageMs)))).catch(() => {});
  }

  async delete(key: string): Promise<boolean> {
    return (await this.conn.run((client) => client.del(this.namespace + key))) > 0;
  }

  async clear(): Promise<void> {
    const pattern = `${globEscape(this.namespace)}*`;
    // A cluster's keys are spread over its masters: SCAN each of them.
    const nodes = this.conn.isCluster ? (this.conn.client as Cluster).nodes('master') : [this.conn.client as Redis];
    await Promise.all(nodes.map((node) => this.clearNode(node, pattern)));
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  private async clearNode(node: Redis, pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.conn.run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', 500));
      cursor = next;
      if (keys.length === 0) continue;
      if (this.conn.isCluster) {
        // The keys of one page belong to many slots, and one UNLINK may name keys of one slot only.
        await this.conn.run(() => node.pipeline(keys.map((k) => ['unlink', k])).exec());
      } else {
        await this.conn.run(() => node.unlink(...keys));
      }
    } while (cursor !== '0');
  }
}
