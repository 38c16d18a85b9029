/**
 * One proxied request: tries on targets until one answers, then streams its response back.
 *
 * Why not http-proxy-middleware's pipeline (http-proxy underneath): each requirement below would
 * be a workaround around it.
 * - Path: http-proxy rebuilds the path with `url.parse` and `urlJoin`, which collapses `//` in the
 *   path and the query (`?next=https://a//b` arrives changed); hpm also rewrites `req.url`.
 * - Client aborts: it listens for `req`'s deprecated `aborted` event, which does not fire once the
 *   request body has ended, so the upstream request outlives a client that left (hpm #782).
 * - Errors: it answers refused and reset with 504; its `proxyTimeout` is a socket idle timeout
 *   reported as `ECONNRESET`, so a timeout (504) cannot be told from a reset (502), and it has no
 *   connect timeout.
 * - Retries: it pipes the body into the request before the connection exists, so nothing can be
 *   tried again; and replaying after a backend 401 needs `selfHandleResponse`, which turns off
 *   its response path too.
 * What is left once those are fixed is a pooled HTTP client and a stream back to the client: this
 * file holds the policy (targets, retries, health, backend auth, client aborts) and leaves the
 * bytes to an `UpstreamClient` (client.ts): undici, or node:http with the user's own agents.
 */
import type { Readable } from 'node:stream';
import type { NodeRequest, NodeResponse } from '../../core/context';
import { upstreamChannel, type UpstreamErrorKind } from '../../core/diagnostics';
import { InternalError, TollgateError, UpstreamUnavailableError } from '../../core/errors';
import type { GatewayContext } from '../../core/gateway-context';
import { describeError, type Logger } from '../../core/logger';
import { responseGone } from '../../core/phases';
import type { BackendAuth } from './backend-auth';
import type { Balancer, TargetState } from './balancer';
import { InvalidUpstreamRequest, type TryEvents, type UpstreamClient, type UpstreamTry } from './client';
import { upstreamHeaders, upstreamPath } from './forwarded-headers';
import type { UpstreamProxyConfig } from './options';
import { planBody, UnreplayableBodyError, type BodyPlan } from './request-body';
import { upstreamAnswer, type UpstreamHead } from './response';
import { TryTrace } from './trace';
import { classify } from './upstream-errors';

/** What every exchange of one plugin instance shares. */
export interface ProxyRuntime {
  readonly config: UpstreamProxyConfig;
  readonly balancer: Balancer;
  readonly client: UpstreamClient;
  readonly auth: BackendAuth | undefined;
  /** The plugin's own logger, if it was given one (else the gateway's, `ctx.log`). */
  readonly logger: Logger | undefined;
}

// RFC 9110 §9.2.2: what may be sent again without changing the outcome (nginx and Kong retry only these).
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * One request through the proxy, from the first try to the last byte of the response.
 *
 * The access phase waits for it (`start()`'s promise) until the upstream's response head is in;
 * the exchange then hands status, headers and the body stream to the context as its answer, and
 * the host writes it through the one response path (header and body phases included). Errors
 * before that point become the context's answer too (502/503/504 JSON); after it, the connection
 * is cut, the only signal left once the head is out.
 */
export class Exchange implements TryEvents {
  readonly config: UpstreamProxyConfig;
  body: BodyPlan = { kind: 'none', declared: false };
  private current: UpstreamTry | undefined = undefined;
  private readonly tried: TargetState[] = [];
  private retriesLeft: number;
  private authorization: string | undefined = undefined;
  private authRetried = false;
  private upstreamStart = 0;
  /** The client went away, or the response is complete: nothing more to do. */
  private closed = false;
  /** Whether the context has its answer (or the client left before one): the access phase is over. */
  private settled = false;
  private finishAccess: () => void = noop;
  /**
   * The tries open on `tollgate:upstream` (only while someone listens), and the one being sent:
   * a client may report a failure before `send` returns the try.
   */
  private traces: Map<UpstreamTry, TryTrace> | undefined = undefined;
  private sending: TryTrace | undefined = undefined;

  /** Where this exchange reports: the plugin's logger, else the gateway's. */
  private readonly log: Logger;

  constructor(
    private readonly rt: ProxyRuntime,
    private readonly ctx: GatewayContext,
    readonly req: NodeRequest,
    readonly res: NodeResponse,
  ) {
    this.config = rt.config;
    this.retriesLeft = rt.config.retries;
    this.log = rt.logger ?? ctx.log;
  }

  /** Starts the first try; resolves once the context has its answer or the client left. */
  start(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.finishAccess = resolve));
    // A client that left while earlier plugins were still at work: no upstream request at all.
    if (responseGone(this.res)) {
      this.settle();
      return done;
    }
    this.res.once('close', this.onClientClose);
    const plan = planBody(this.req);
    if (plan instanceof UnreplayableBodyError) {
      this.log.error(`upstreamProxy: ${plan.message}`);
      this.fail(new InternalError('request body consumed', { cause: plan }));
      return done;
    }
    this.body = plan;
    if (this.rt.auth === undefined) {
      this.next();
      return done;
    }
    this.rt.auth.authorization().then(
      (value) => {
        this.authorization = value;
        this.next();
      },
      (err: unknown) => this.fail(err),
    );
    return done;
  }

  /** Ends the access phase (once). */
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.finishAccess();
  }

  /** Starts a try on the next target, or answers 503 when none is healthy. */
  private next(): void {
    if (this.closed) return;
    const state = this.rt.balancer.pick(this.tried);
    if (state === undefined) {
      return this.fail(new UpstreamUnavailableError(undefined, { headers: { 'Retry-After': String(this.rt.balancer.retryAfter()) } }));
    }
    this.tried.push(state);
    const { config, ctx } = this;
    const target = state.target;
    if (this.upstreamStart === 0) {
      this.upstreamStart = performance.now();
      ctx.timings.proxyLatency = Math.round(this.upstreamStart - ctx.timings.start);
    }
    let attempt: UpstreamTry;
    try {
      const path = upstreamPath(ctx, target, config.stripPath);
      const headers = upstreamHeaders(ctx, this.req, {
        target,
        body: this.body,
        stripPath: config.stripPath,
        preserveHost: config.preserveHost,
        authorization: this.authorization,
      });
      const send = () => this.rt.client.send(this, state, { method: ctx.request.method, path, headers, body: this.body, req: this.req });
      if (upstreamChannel.hasSubscribers) {
        // Subscribers see the try before it is sent, and may add trace headers to it.
        const trace = new TryTrace(ctx, target, path, headers, this.tried.length);
        this.sending = trace;
        attempt = trace.start(send);
        if (this.sending === trace) {
          this.sending = undefined;
          (this.traces ??= new Map()).set(attempt, trace);
        }
      } else {
        attempt = send();
      }
    } catch (err) {
      this.sending = undefined;
      // A plugin put a value Node refuses (a newline, say) into a request header.
      return this.invalid(err);
    }
    // A try that failed at once was already followed by the next one (or the answer).
    if (!attempt.done && this.current === undefined) this.current = attempt;
  }

  /** The client refused to build the request: the plugins' doing, a 500. */
  private invalid(err: unknown): void {
    this.log.error('upstreamProxy: could not build the upstream request', describeError(err));
    this.fail(new InternalError('invalid upstream request', { cause: err }));
  }

  /** A try failed before the response head: another try, or the error for the client. */
  failed(attempt: UpstreamTry, err: unknown): void {
    attempt.abort();
    if (this.current === attempt) this.current = undefined;
    if (this.closed || err instanceof InvalidUpstreamRequest) this.endTry(attempt, 'aborted');
    if (this.closed) return;
    if (err instanceof InvalidUpstreamRequest) return this.invalid(err.cause);
    const failure = classify(err, attempt.connected, attempt.reused);
    if (failure.outcome !== undefined) this.rt.balancer.report(attempt.state, failure.outcome, err);
    this.endTry(attempt, 'error', { kind: failure.kind, code: failure.error.code, error: err });
    if (failure.retriable && this.retriesLeft > 0 && !attempt.streamed && IDEMPOTENT.has(this.ctx.request.method)) {
      this.retriesLeft--;
      return this.next();
    }
    this.log.warn(`upstreamProxy: request to ${attempt.state.target.url} failed`, describeError(err));
    this.fail(failure.error);
  }

  /** The upstream answered: replay once on a 401 with a fresh backend token, else stream it back. */
  respond(attempt: UpstreamTry, head: UpstreamHead, body: Readable): void {
    const { ctx } = this;
    const status = head.statusCode ?? 0;
    ctx.timings.upstreamLatency = Math.round(performance.now() - this.upstreamStart);
    this.rt.balancer.report(attempt.state, status);
    const trace = this.traceOf(attempt);
    if (trace !== undefined) trace.status = status;
    if (this.closed) {
      attempt.abort();
      this.endTry(attempt, 'aborted');
      return;
    }
    if (status === 401 && this.rt.auth !== undefined && !this.authRetried && this.body.kind !== 'stream') {
      this.authRetried = true;
      this.current = undefined;
      // Drained, not destroyed: the connection goes back to the pool (or is closed if it stalls).
      attempt.drain();
      this.endTry(attempt, 'response');
      this.rt.auth.refresh(this.authorization!).then(
        (value) => {
          this.authorization = value;
          this.tried.length = 0;
          this.next();
        },
        (err: unknown) => this.fail(err),
      );
      return;
    }
    if (trace !== undefined) body.once('end', () => this.endTry(attempt, 'response'));
    upstreamAnswer(ctx, head, body);
    this.settle();
  }

  /** The upstream failed after the head was sent: the client can only see the connection cut. */
  brokenMidBody(attempt: UpstreamTry, err: unknown, outcome: 'tcp' | 'timeout'): void {
    if (attempt.done) return;
    this.rt.balancer.report(attempt.state, outcome, err);
    // The head is out: the client sees the connection cut, not an error code.
    this.endTry(attempt, 'error', { kind: outcome === 'timeout' ? 'timeout' : 'reset', code: undefined, error: err });
    attempt.abort();
    this.current = undefined;
    this.log.warn(`upstreamProxy: ${attempt.state.target.url} failed mid-response`, describeError(err));
    this.res.destroy();
  }

  /** Answers the client with a tollgate error (or cuts the connection once the answer is given). */
  private fail(err: unknown): void {
    if (this.closed) return;
    this.abortCurrent();
    if (!(err instanceof TollgateError)) this.log.error('upstreamProxy: unexpected failure', describeError(err));
    if (this.settled) {
      this.res.destroy();
      return;
    }
    this.ctx.fail(err);
    this.settle();
  }

  /** The client's connection closed: abort the upstream request if the response was not complete. */
  private onClientClose = (): void => {
    this.closed = true;
    this.settle();
    if (this.res.writableFinished) return;
    this.abortCurrent();
  };

  private abortCurrent(): void {
    const current = this.current;
    if (current === undefined) return;
    current.abort();
    this.endTry(current, 'aborted');
    this.current = undefined;
  }

  /** The trace of a try, if `tollgate:upstream` had subscribers when it was sent. */
  private traceOf(attempt: UpstreamTry): TryTrace | undefined {
    if (this.sending !== undefined) {
      (this.traces ??= new Map()).set(attempt, this.sending);
      this.sending = undefined;
    }
    return this.traces?.get(attempt);
  }

  /** Ends a try on `tollgate:upstream`, once: how it went and the target's health after it. */
  private endTry(attempt: UpstreamTry, outcome: 'response' | 'error' | 'aborted', failure?: { kind: UpstreamErrorKind; code: string | undefined; error: unknown }): void {
    const trace = this.traceOf(attempt);
    if (trace === undefined) return;
    this.traces!.delete(attempt);
    trace.end(outcome, this.rt.balancer.healthOf(attempt.state), failure);
  }
}

const noop = (): void => {};
