/**
 * Socket-level failures of one upstream try, mapped to what the client sees (DESIGN.md), what the
 * passive health checks count, and whether another try may be made.
 *
 * Kong's mapping: refused, reset or a malformed response → 502; connect, read or write timeout →
 * 504; name resolution failure or no healthy target → 503. (http-proxy-middleware answers refused
 * and reset with 504 and has no connect timeout, so the mapping is ours.)
 *
 * @see https://developer.konghq.com/gateway/entities/service/ — `retries`, timeouts
 */
import type { UpstreamErrorKind } from '../../core/diagnostics';
import { type TollgateError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../core/errors';
import type { Outcome } from './balancer';

/** A timeout the proxy enforced itself, raised as the cause of a 504. */
export class ProxyTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly phase: 'connect' | 'write' | 'read', readonly ms: number, cause?: unknown) {
    super(`upstream ${phase} timeout after ${ms} ms`, cause === undefined ? undefined : { cause });
    this.name = 'ProxyTimeoutError';
  }
}

/** What to do about one failed try. */
export interface Failure {
  readonly error: TollgateError;
  /** What the health checks count, or undefined for a failure that says nothing about the target. */
  readonly outcome: Outcome | undefined;
  /**
   * The request never reached the upstream's application (the connection failed, or a pooled
   * connection turned out closed before a byte of the response came), so another try is safe for
   * an idempotent request whose body can be sent again.
   */
  readonly retriable: boolean;
  /** What went wrong, as metrics and traces name it. */
  readonly kind: UpstreamErrorKind;
}

const DNS_FAILURES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
// UND_ERR_SOCKET: undici's "other side closed".
const DROPPED: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/**
 * Classifies a failure of one try.
 *
 * @param connected whether the connection to the target was established
 * @param reused whether it was a pooled connection (a reset there is usually a stale socket the
 *   upstream closed while idle, not a sick target: retried, not counted — Node's advice for
 *   `request.reusedSocket`)
 */
export function classify(err: unknown, connected: boolean, reused: boolean): Failure {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof ProxyTimeoutError) {
    return { error: new UpstreamTimeoutError(undefined, { cause: err }), outcome: 'timeout', retriable: err.phase === 'connect', kind: 'timeout' };
  }
  if (!connected) {
    if (typeof code === 'string' && DNS_FAILURES.has(code)) {
      return { error: new UpstreamUnavailableError('name resolution failed', { cause: err }), outcome: 'tcp', retriable: true, kind: 'dns' };
    }
    if (code === 'ETIMEDOUT') return { error: new UpstreamTimeoutError(undefined, { cause: err }), outcome: 'timeout', retriable: true, kind: 'timeout' };
    return { error: new UpstreamError(undefined, { cause: err }), outcome: 'tcp', retriable: true, kind: 'refused' };
  }
  if (typeof code === 'string' && DROPPED.has(code)) {
    return { error: new UpstreamError(undefined, { cause: err }), outcome: reused ? undefined : 'tcp', retriable: true, kind: 'reset' };
  }
  // HPE_* (a response that is not HTTP) and anything else once connected: the upstream may have
  // acted on the request, so no other try.
  return { error: new UpstreamError(undefined, { cause: err }), outcome: 'tcp', retriable: false, kind: 'protocol' };
}
