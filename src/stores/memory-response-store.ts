/**
 * The proxy cache's memory store: an lru-cache bounded in bytes, with a TTL per entry.
 *
 * @see https://github.com/isaacs/node-lru-cache — `maxSize`, `sizeCalculation`, per-entry `ttl`
 */
import { LRUCache } from 'lru-cache';
import { entrySize, type CachedResponse, type ResponseStore } from './response-store';

/** Options of {@link MemoryResponseStore}. */
export interface MemoryResponseStoreOptions {
  /** Bytes all entries together may take; least recently used entries are evicted first. */
  maxBytes: number;
  /** lru-cache's clock, for tests that move time by hand. @defaultValue `performance` */
  perf?: { now(): number };
}

/** Cached responses in this process's memory. */
export class MemoryResponseStore implements ResponseStore {
  readonly available = true;
  private readonly lru: LRUCache<string, CachedResponse>;

  constructor(options: MemoryResponseStoreOptions) {
    this.lru = new LRUCache<string, CachedResponse>({
      maxSize: options.maxBytes,
      sizeCalculation: entrySize,
      // Expired entries are dropped when touched; no timers (ttlAutopurge costs one per entry).
      ttlAutopurge: false,
      ...(options.perf ? { perf: options.perf } : {}),
    });
  }

  /** Synchronous, so that a memory hit never waits for the event loop. */
  get(key: string): CachedResponse | undefined {
    return this.lru.get(key);
  }

  set(key: string, entry: CachedResponse, storageMs: number): void {
    this.lru.set(key, entry, { ttl: Math.max(1, Math.ceil(storageMs)) });
  }

  async delete(key: string): Promise<boolean> {
    return this.lru.delete(key);
  }

  async clear(): Promise<void> {
    this.lru.clear();
  }

  /** Number of entries held (for tests and metrics). */
  get size(): number {
    return this.lru.size;
  }

  /** Bytes held, as counted against `maxBytes`. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}
