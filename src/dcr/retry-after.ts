/**
 * How long a 429 asks to wait, from the headers providers send with it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3 — Retry-After
 * @see https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy — X-RateLimit-Reset
 */

/**
 * Milliseconds a 429 asks the client to wait: `Retry-After` (seconds or an HTTP date), else
 * `X-RateLimit-Reset` (epoch seconds, Auth0's Management API header); undefined when neither is usable.
 */
export function retryDelay(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}
