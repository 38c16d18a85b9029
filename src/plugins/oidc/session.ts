/**
 * A login session: the tokens of one sign-in and its three clocks, with Kong's timeouts.
 *
 * - **absolute** (`sessionAbsoluteTimeout`): from the login; never extended.
 * - **rolling** (`sessionRollingTimeout`): how long one issue of the session is valid. An active
 *   session is re-issued ("rolled") once half of it has passed; with Redis storage that gives it
 *   a new id, so a copied cookie stops working.
 * - **idling** (`sessionIdlingTimeout`): how long without a request. The last-seen time is written
 *   ("touched") at most every tenth of the timeout, so an active session does not rewrite its cookie
 *   (or Redis record) on every request.
 *
 * @see https://developer.konghq.com/plugins/openid-connect/reference/ — `session_idling_timeout`, `session_rolling_timeout`, `session_absolute_timeout`
 */
import { randomBytes } from 'node:crypto';
import type { OidcLoginConfig } from './login-options';

/** The tokens a session holds. Never logged, never put in `ctx.credential`. */
export interface SessionTokens {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Epoch milliseconds after which the access token must be refreshed. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
  readonly idToken?: string;
  readonly scope?: string;
}

/** A session as it is sealed into the cookie or the Redis record. Times in epoch seconds. */
export interface SessionRecord {
  /** A random id: keys the refresh single-flight and the Redis record. */
  readonly sid: string;
  /** When the user logged in. */
  readonly iat: number;
  /** When this issue of the session was made (rolled). */
  readonly rat: number;
  /** When a request was last seen (touched). */
  readonly uat: number;
  readonly tokens: SessionTokens;
}

/** What a request with a valid session must write back. */
export type Renewal = 'roll' | 'touch' | undefined;

/** A new random session id (256 bits). */
export const newSessionId = (): string => randomBytes(32).toString('base64url');

const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The record in an opened value, or undefined when it does not have the shape of one. */
export function asRecord(value: unknown): SessionRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Partial<SessionRecord>;
  const t = r.tokens as Partial<SessionTokens> | undefined;
  if (!isString(r.sid) || !isNumber(r.iat) || !isNumber(r.rat) || !isNumber(r.uat) || typeof t !== 'object' || t === null) return undefined;
  if (!isString(t.accessToken) || !isString(t.tokenType) || !isNumber(t.expiresAt)) return undefined;
  if ((t.refreshToken !== undefined && !isString(t.refreshToken)) || (t.idToken !== undefined && !isString(t.idToken))) return undefined;
  return r as SessionRecord;
}

/** The timeouts of one plugin's sessions. */
export class SessionClock {
  private readonly idle: number;
  private readonly rolling: number;
  private readonly absolute: number;

  constructor(config: OidcLoginConfig) {
    this.idle = config.sessionIdlingTimeout;
    this.rolling = config.sessionRollingTimeout;
    this.absolute = config.sessionAbsoluteTimeout;
  }

  /** Epoch seconds at which the session ends unless renewed: the earliest of its enabled timeouts. */
  expiresAt(record: SessionRecord): number {
    let exp = Infinity;
    if (this.absolute > 0) exp = Math.min(exp, record.iat + this.absolute);
    if (this.rolling > 0) exp = Math.min(exp, record.rat + this.rolling);
    if (this.idle > 0) exp = Math.min(exp, record.uat + this.idle);
    return exp;
  }

  /** Epoch seconds at which the session ends whatever happens (its cookie's lifetime), or undefined. */
  absoluteEnd(record: SessionRecord): number | undefined {
    return this.absolute > 0 ? record.iat + this.absolute : undefined;
  }

  /** Whether the session is still valid at `now` (epoch seconds). */
  valid(record: SessionRecord, now: number): boolean {
    return now < this.expiresAt(record) && record.iat <= now + 60;
  }

  /** What a request at `now` must write back: a new issue, a new last-seen time, or nothing. */
  renewal(record: SessionRecord, now: number): Renewal {
    if (this.rolling > 0 && now - record.rat >= this.rolling / 2) return 'roll';
    if (this.idle > 0 && now - record.uat >= Math.max(1, Math.floor(this.idle / 10))) return 'touch';
    return undefined;
  }

  /** A new session for the tokens of a login. */
  create(tokens: SessionTokens, now: number): SessionRecord {
    return { sid: newSessionId(), iat: now, rat: now, uat: now, tokens };
  }
}
