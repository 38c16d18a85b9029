/**
 * The rate-limit response headers: Kong's, or the IETF RateLimit draft that express-rate-limit's
 * `standardHeaders` sends.
 *
 * @see https://developer.konghq.com/plugins/rate-limiting/ — Kong's headers
 * @see https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/ — the drafts
 */
import { createHash } from 'node:crypto';
import type { Decision } from './limiter';
import type { HeaderStyle } from './options';
import type { Window } from './windows';

/**
 * The window `RateLimit-*` describe: the one with the fewest requests left, the longer one on a
 * tie (Kong's choice), so a refused client's `Retry-After` covers every exhausted window.
 */
function closest(windows: readonly Window[], remaining: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < windows.length; i++) if (remaining[i]! <= remaining[best]!) best = i;
  return best;
}

/** express-rate-limit's draft-8 partition key: base64 of the first 12 hex digits of sha256(key). */
function partitionKey(key: string): string {
  return Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
}

/**
 * The headers for one decision, as a flat `[name, value, name, value, …]` list.
 *
 * Remaining counts are Kong's: an allowed request has counted itself; a refused one counted in no
 * window, so the windows that still had room show what they had.
 */
export function rateLimitHeaders(style: HeaderStyle, windows: readonly Window[], decision: Decision, now: number, key: string): string[] {
  const n = windows.length;
  const remaining = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    windows[i]!.at(now);
    remaining[i] = Math.max(0, windows[i]!.limit - decision.used[i]!);
  }
  const sel = closest(windows, remaining);
  const w = windows[sel]!;
  const reset = String(w.resetSeconds(now));
  const left = String(remaining[sel]);
  const out: string[] = [];
  switch (style) {
    case 'kong':
      for (let i = 0; i < n; i++) out.push(windows[i]!.limitHeader, windows[i]!.limitText, windows[i]!.remainingHeader, String(remaining[i]));
      out.push('RateLimit-Limit', w.limitText, 'RateLimit-Remaining', left, 'RateLimit-Reset', reset);
      break;
    case 'draft-6':
      out.push('RateLimit-Policy', windows.map((x) => `${x.limit};w=${x.seconds}`).join(', '));
      out.push('RateLimit-Limit', w.limitText, 'RateLimit-Remaining', left, 'RateLimit-Reset', reset);
      break;
    case 'draft-7':
      out.push('RateLimit-Policy', windows.map((x) => `${x.limit};w=${x.seconds}`).join(', '));
      out.push('RateLimit', `limit=${w.limit}, remaining=${left}, reset=${reset}`);
      break;
    case 'draft-8': {
      // Draft 8 names each quota, so every window is listed, each with its own remaining and reset.
      const pk = partitionKey(key);
      out.push('RateLimit', windows.map((x, i) => `"${x.policyName}"; r=${remaining[i]}; t=${x.resetSeconds(now)}`).join(', '));
      out.push('RateLimit-Policy', windows.map((x) => `"${x.policyName}"; q=${x.limit}; w=${x.seconds}; pk=:${pk}:`).join(', '));
      break;
    }
  }
  if (!decision.allowed) out.push('Retry-After', reset);
  return out;
}
