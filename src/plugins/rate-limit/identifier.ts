/**
 * Who a request is counted for: Kong's `get_identifier`, with its fall-backs to the client IP.
 *
 * The IP is `ctx.request.ip`, which honours the framework's trust-proxy setting and nothing else,
 * so a client cannot pick its bucket with a forged `X-Forwarded-For` unless the app trusts it.
 *
 * @see https://developer.konghq.com/plugins/rate-limiting/ — "limit_by" and its fall-backs
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../core/context';
import { normalizePath, routeIdentity } from '../../core/path';
import type { RateLimitConfig } from './options';

/** Resolves the counter key of a request. */
export type Identify = (ctx: RequestContext) => string;

/**
 * Identifiers a client controls (a header) or an auth plugin chose (a consumer id) can be long;
 * every distinct key is held in memory or Redis, so long ones are replaced by a fixed-size hash.
 */
const MAX_KEY_LENGTH = 64;

function bounded(prefix: string, value: string): string {
  return value.length <= MAX_KEY_LENGTH ? prefix + value : `${prefix}#${createHash('sha256').update(value).digest('base64url')}`;
}

// The IP is used as it is: non-IP identifiers carry a prefix ("consumer:") that no IP address can
// start with, so a consumer named like an address never shares that address's counter.
const ip: Identify = (ctx) => ctx.request.ip;

/** Builds the identifier function for a config once, so the hot path does not branch on limitBy. */
export function identifierFor(config: RateLimitConfig): Identify {
  switch (config.limitBy) {
    case 'ip':
      return ip;
    case 'consumer':
      return (ctx) => {
        const consumer = ctx.consumer?.id;
        if (consumer) return bounded('consumer:', consumer);
        const credential = ctx.credential?.id;
        return credential ? bounded('credential:', credential) : ctx.request.ip;
      };
    case 'credential':
      return (ctx) => {
        const credential = ctx.credential?.id;
        return credential ? bounded('credential:', credential) : ctx.request.ip;
      };
    case 'header': {
      const name = config.headerName!;
      return (ctx) => {
        const value = ctx.request.header(name);
        return value ? bounded('header:', value) : ctx.request.ip;
      };
    }
    case 'path': {
      // Compared in the form routers match on, so `/LOGIN`, `/login/` and `//login` count as `/login`.
      const path = routeIdentity(normalizePath(config.path!));
      const key = bounded('path:', path);
      return (ctx) => (routeIdentity(ctx.request.originalPath) === path ? key : ctx.request.ip);
    }
    case 'service':
      // Kong counts every request to the matched service together; the closest thing a tollgate
      // plugin has to a service is the prefix its gateway is mounted under.
      return (ctx) => bounded('service:', routeIdentity(ctx.request.mountPath || '/'));
  }
}
