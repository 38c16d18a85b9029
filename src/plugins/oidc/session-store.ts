/**
 * Where sessions live: the whole session sealed in the cookie (`sessionStorage: 'cookie'`), or
 * sealed in Redis with only a random id in the cookie (`'redis'`).
 *
 * A cookie session cannot be revoked by the server: until it expires, a copy of the cookie is as
 * good as the original (logout only asks the browser to drop it). A Redis session is deleted at
 * logout, so every copy of its cookie stops working at once; its key in Redis is a hash of the id,
 * so reading Redis does not give anyone a usable cookie (Kong's `session_hash_storage_key`). When
 * a session is renewed with a new id, the old one keeps working for 10 seconds (Kong's `stale_ttl`),
 * so requests already under way with the old cookie are not logged out.
 */
import { hash } from 'node:crypto';
import { StoreError } from '../../core/errors';
import { describeError, type Logger } from '../../core/logger';
import { RedisConnection, type RedisConfig } from '../../stores/redis';
import { chunkedCookies, clearCookie, cookieName, cookieNames, readChunked, serializeCookie, type RequestCookies } from './cookies';
import type { Sealer } from './session-crypto';
import { asRecord, type SessionClock, type SessionRecord } from './session';

/** The cookie view of one request: what it sent, whether it came over https, and its gateway's logger. */
export interface CookieJar {
  readonly cookies: RequestCookies;
  readonly secure: boolean;
  readonly log: Logger;
}

/** Stores sessions; every write appends the `Set-Cookie` lines the response must carry to `out`. */
export interface SessionStore {
  /** The session this request carries, or undefined (none, tampered, unknown, or the store has no such record). */
  load(jar: CookieJar): Promise<SessionRecord | undefined>;
  /**
   * Writes the session. `replaces` is the session the request came with: with Redis, a session of
   * another id replaces that record — at once after a new login, a few seconds later after a
   * `renewal` of the same login (requests under way may still carry its cookie).
   */
  save(jar: CookieJar, record: SessionRecord, replaces: SessionRecord | undefined, out: string[], renewal?: boolean): Promise<void>;
  /** Ends the session: the record is deleted and the cookies cleared. */
  destroy(jar: CookieJar, record: SessionRecord | undefined, out: string[]): Promise<void>;
  /** The session's cookie name for this request (`__Host-` over https). */
  name(jar: CookieJar): string;
  close(): Promise<void>;
}

/** Cookies above this total size are logged once: together they approach Node's 16 KB header limit. */
const LARGE_SESSION = 8 * 1024;

/** The whole session, sealed, in the cookie (chunked past 4 KB). */
export class CookieSessionStore implements SessionStore {
  private warned = false;

  constructor(
    private readonly base: string,
    private readonly sealer: Sealer,
    private readonly clock: SessionClock,
  ) {}

  name(jar: CookieJar): string {
    return cookieName(this.base, jar.secure);
  }

  async load(jar: CookieJar): Promise<SessionRecord | undefined> {
    const value = readChunked(this.name(jar), jar.cookies);
    return value === undefined ? undefined : asRecord(await this.sealer.open(value));
  }

  async save(jar: CookieJar, record: SessionRecord, _replaces: SessionRecord | undefined, out: string[], _renewal?: boolean): Promise<void> {
    const value = await this.sealer.seal(record);
    if (value.length > LARGE_SESSION && !this.warned) {
      this.warned = true;
      jar.log.warn(`oidc: a session cookie is ${value.length} bytes; consider sessionStorage: 'redis' (requests near 16 KB of headers are refused by Node)`);
    }
    out.push(...chunkedCookies(this.name(jar), value, { secure: jar.secure, ...maxAge(this.clock, record) }, jar.cookies));
  }

  async destroy(jar: CookieJar, _record: SessionRecord | undefined, out: string[]): Promise<void> {
    for (const name of cookieNames(this.name(jar), jar.cookies)) out.push(clearCookie(name, jar.secure));
  }

  async close(): Promise<void> {}
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/** How long a renewed session's previous id keeps working (ms). */
const STALE_TTL_MS = 10_000;

/** The session sealed in Redis under a hash of a random id; the cookie holds the id. */
export class RedisSessionStore implements SessionStore {
  private readonly conn: RedisConnection;
  private readonly keyBase: string;

  constructor(
    private readonly base: string,
    redis: RedisConfig,
    private readonly sealer: Sealer,
    private readonly clock: SessionClock,
    private readonly now: () => number,
    logger: Logger | undefined,
  ) {
    this.conn = new RedisConnection(redis, 'oidc', logger);
    this.keyBase = `${this.conn.prefix}oidc:session:`;
  }

  name(jar: CookieJar): string {
    return cookieName(this.base, jar.secure);
  }

  private key(id: string): string {
    return this.keyBase + hash('sha256', id, 'base64url');
  }

  async load(jar: CookieJar): Promise<SessionRecord | undefined> {
    const id = jar.cookies.get(this.name(jar));
    if (id === undefined || !SESSION_ID.test(id)) return undefined;
    const sealed = await this.run(jar, (c) => c.get(this.key(id)));
    if (sealed === null) return undefined;
    const record = asRecord(await this.sealer.open(sealed));
    // The record names its own id: a record can never be read through another session's cookie.
    return record?.sid === id ? record : undefined;
  }

  async save(jar: CookieJar, record: SessionRecord, replaces: SessionRecord | undefined, out: string[], renewal = false): Promise<void> {
    const ttl = Math.max(1000, Math.ceil((this.clock.expiresAt(record) - this.now() / 1000) * 1000));
    const sealed = await this.sealer.seal(record);
    await this.run(jar, (c) => c.set(this.key(record.sid), sealed, 'PX', Math.min(ttl, 2 ** 31 - 1)));
    if (replaces && replaces.sid !== record.sid) {
      // A renewal of the same login keeps the old id working a few seconds, for the requests the
      // browser sent before it got the new cookie (Kong's `stale_ttl`); a new login deletes it (fixation).
      if (renewal) await this.run(jar, (c) => c.pexpire(this.key(replaces.sid), STALE_TTL_MS));
      else await this.run(jar, (c) => c.del(this.key(replaces.sid)));
    }
    if (replaces?.sid !== record.sid) out.push(serializeCookie(this.name(jar), record.sid, { secure: jar.secure, ...maxAge(this.clock, record) }));
  }

  async destroy(jar: CookieJar, record: SessionRecord | undefined, out: string[]): Promise<void> {
    if (record) await this.run(jar, (c) => c.del(this.key(record.sid)));
    if (jar.cookies.has(this.name(jar))) out.push(clearCookie(this.name(jar), jar.secure));
  }

  /**
   * Runs a command through the connection (which waits for the first connection and bounds every
   * command), logging a failure at debug level for the request that met it.
   */
  private async run<T>(jar: CookieJar, command: (client: RedisConnection['client']) => Promise<T>): Promise<T> {
    try {
      return await this.conn.run(command);
    } catch (err) {
      jar.log.debug('oidc: session store command failed', describeError(err));
      throw err instanceof StoreError ? new StoreError('The session store is unavailable', { cause: err.cause ?? err }) : new StoreError('The session store is unavailable', { cause: err });
    }
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/**
 * The cookie's lifetime: until the session's absolute end, or a browser-session cookie when that
 * is off. Counted from `uat`, the instant of the request that writes the record (every save sets
 * it), not from a second reading of the clock after the record was sealed: a session issued now
 * gets exactly `sessionAbsoluteTimeout`, however long sealing took.
 */
function maxAge(clock: SessionClock, record: SessionRecord): { maxAge?: number } {
  const end = clock.absoluteEnd(record);
  return end === undefined ? {} : { maxAge: end - record.uat };
}
