/**
 * The contract between the proxy-cache plugin and where its entries live (memory or Redis), and
 * the shape of one cached response.
 */

/** One cached response, as stored and replayed. */
export interface CachedResponse {
  /** The response status. */
  readonly status: number;
  /** The headers to replay, lower-cased, without hop-by-hop, rate-limit or per-request headers. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** The complete body. */
  readonly body: Buffer;
  /** `Date.now()` when the response was stored. */
  readonly storedAt: number;
  /** Freshness lifetime in seconds. */
  readonly ttl: number;
  /** Seconds the response was already old when stored (its upstream `Age`, with `cacheControl`). */
  readonly initialAge: number;
  /**
   * Values of the request headers the response's `Vary` names (beyond `varyHeaders`, already in
   * the key); a request with other values does not match the entry.
   */
  readonly vary?: Readonly<Record<string, string | null>>;
  /** `must-revalidate`/`proxy-revalidate`: never served stale, whatever the request allows. */
  readonly mustRevalidate?: boolean;
}

/** A store of cached responses by key. */
export interface ResponseStore {
  /** Whether the store can answer now (false while Redis is disconnected). */
  readonly available: boolean;
  /**
   * The entry under `key`. The memory store answers synchronously (the hit path stays
   * synchronous); the Redis store returns a promise that rejects when Redis fails.
   */
  get(key: string): CachedResponse | undefined | Promise<CachedResponse | undefined>;
  /** Stores an entry for `storageMs` milliseconds. Never throws: a failed write is only logged. */
  set(key: string, entry: CachedResponse, storageMs: number): void;
  /** Drops one entry; true when there was one. */
  delete(key: string): Promise<boolean>;
  /** Drops every entry of this store. */
  clear(): Promise<void>;
  /** Releases what the store owns (a Redis client it created). */
  close(): Promise<void>;
}

/** Approximate bytes an entry takes, for the memory bound. */
export function entrySize(entry: CachedResponse): number {
  let size = entry.body.length + 128;
  for (const name in entry.headers) {
    const value = entry.headers[name]!;
    size += name.length + (Array.isArray(value) ? value.reduce((n, x) => n + x.length + 2, 0) : value.length);
  }
  return size;
}
