/**
 * The proxy cache's Redis store: entries shared by every instance, expiring by Redis TTL.
 *
 * Redis being down must never turn into an error or a wait for the client: a lookup is refused at
 * once while the connection is not ready, bounded by a timer otherwise, and writes are
 * fire-and-forget. The plugin answers those as `Bypass`.
 */
import { StoreError } from '../core/errors';
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
  private readonly timeout: number;
  private readonly namespace: string;

  constructor(config: RedisConfig, owner = 'proxyCache') {
    this.conn = new RedisConnection(config, owner);
    this.timeout = config.commandTimeout;
    this.namespace = `${this.conn.prefix}proxy-cache:`;
  }

  get available(): boolean {
    return this.conn.ready;
  }

  get(key: string): Promise<CachedResponse | undefined> {
    if (!this.conn.ready) return Promise.reject(new StoreError('Redis is not connected'));
    // ioredis's commandTimeout only covers clients tollgate made; an app's own client may queue
    // commands while reconnecting, so the wait is bounded here as well.
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new StoreError(`Redis did not answer within ${this.timeout} ms`);
        this.conn.failed(err);
        reject(err);
      }, this.timeout);
      this.conn.client.getBuffer(this.namespace + key).then(
        (raw) => {
          clearTimeout(timer);
          this.conn.recovered();
          resolve(raw ? decodeEntry(raw) : undefined);
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.conn.failed(err);
          reject(new StoreError('Redis lookup failed', { cause: err }));
        },
      );
    });
  }

  set(key: string, entry: CachedResponse, storageMs: number): void {
    if (!this.conn.ready) return;
    this.conn.client.set(this.namespace + key, encodeEntry(entry), 'PX', Math.max(1, Math.ceil(storageMs))).then(
      () => this.conn.recovered(),
      (err: unknown) => this.conn.failed(err),
    );
  }

  async delete(key: string): Promise<boolean> {
    try {
      return (await this.conn.client.del(this.namespace + key)) > 0;
    } catch (err) {
      this.conn.failed(err);
      throw new StoreError('Redis purge failed', { cause: err });
    }
  }

  async clear(): Promise<void> {
    const pattern = `${globEscape(this.namespace)}*`;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.conn.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await this.conn.client.unlink(...keys);
      } while (cursor !== '0');
    } catch (err) {
      this.conn.failed(err);
      throw new StoreError('Redis purge failed', { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}
