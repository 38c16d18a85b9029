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
 * What is left once those are fixed is `http.request` plus `pipe`, which is what this file does,
 * with a keep-alive agent and fewer allocations per request than hpm's async layers.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { NodeRequest, NodeResponse } from '../../core/context';
import { InternalError, TollgateError, UpstreamUnavailableError } from '../../core/errors';
import type { GatewayContext } from '../../core/gateway-context';
import { describeError } from '../../core/logger';
import type { AgentPool } from './agents';
import type { BackendAuth } from './backend-auth';
import type { Balancer, TargetState } from './balancer';
import { upstreamHeaders, upstreamPath } from './forwarded-headers';
import type { UpstreamProxyConfig } from './options';
import { planBody, UnreplayableBodyError, type BodyPlan } from './request-body';
import { upstreamAnswer } from './response';
import { classify, ProxyTimeoutError } from './upstream-errors';
import { responseGone } from '../../core/phases';

/** What every exchange of one plugin instance shares. */
export interface ProxyRuntime {
  readonly config: UpstreamProxyConfig;
  readonly balancer: Balancer;
  readonly agents: AgentPool;
  readonly auth: BackendAuth | undefined;
}

// RFC 9110 §9.2.2: what may be sent again without changing the outcome (nginx and Kong retry only these).
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** One try at one target. */
class Attempt {
  connected = false;
  responded = false;
  /** Whether the client's body stream started flowing into this try (it cannot be sent again). */
  streamed = false;
  /** The response is read to its end but not forwarded (a 401 replayed with a fresh token). */
  draining = false;
  done = false;
  socket: Socket | undefined = undefined;
  connectTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly exchange: Exchange,
    readonly state: TargetState,
    readonly request: ClientRequest,
  ) {}

  /** Ends this try and closes its connection (a connection with a request in flight cannot be reused). */
  abort(): void {
    this.done = true;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.socket?.removeListener('timeout', this.onIdle);
    this.request.destroy();
  }

  /** Detaches from a connection that goes back to the pool. */
  release = (): void => {
    this.done = true;
    this.socket?.removeListener('timeout', this.onIdle);
  };

  onSocket = (socket: Socket): void => {
    if (this.done) return;
    this.socket = socket;
    if (!socket.connecting) return this.onConnect();
    this.connectTimer = setTimeout(this.onConnectTimeout, this.exchange.config.connectTimeout);
    socket.once(this.state.target.protocol === 'https:' ? 'secureConnect' : 'connect', this.onConnect);
  };

  onConnect = (): void => {
    if (this.done) return;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connected = true;
    const config = this.exchange.config;
    // Our own idle timer on the socket: ClientRequest's `timeout` fires once only, and a slow
    // client pausing the response must re-arm it rather than count as a silent upstream.
    this.socket!.setTimeout(config.writeTimeout);
    this.socket!.on('timeout', this.onIdle);
    if (config.readTimeout !== config.writeTimeout) this.request.once('finish', this.toRead);
    if (this.exchange.body.kind === 'stream') {
      this.streamed = true;
      this.exchange.req.pipe(this.request);
    }
  };

  toRead = (): void => {
    if (!this.done) this.socket?.setTimeout(this.exchange.config.readTimeout);
  };

  onConnectTimeout = (): void => {
    if (!this.done) this.exchange.failed(this, new ProxyTimeoutError('connect', this.exchange.config.connectTimeout));
  };

  onIdle = (): void => {
    if (this.done) return;
    if (this.draining) return this.abort();
    const { config, res } = this.exchange;
    if (!this.responded) {
      const phase = this.request.writableFinished ? 'read' : 'write';
      this.exchange.failed(this, new ProxyTimeoutError(phase, phase === 'read' ? config.readTimeout : config.writeTimeout));
    } else if ((res as { writableNeedDrain?: boolean }).writableNeedDrain === true) {
      // The client is the slow one; look again later.
      this.socket?.setTimeout(config.readTimeout);
    } else {
      this.exchange.brokenMidBody(this, new ProxyTimeoutError('read', config.readTimeout), 'timeout');
    }
  };

  onError = (err: Error): void => {
    if (this.done) return;
    if (this.draining) return this.abort();
    if (this.responded) this.exchange.brokenMidBody(this, err, 'tcp');
    else this.exchange.failed(this, err);
  };

  onResponse = (response: IncomingMessage): void => {
    if (this.done) {
      response.resume();
      return;
    }
    this.responded = true;
    this.exchange.respond(this, response);
  };
}

/**
 * One request through the proxy, from the first try to the last byte of the response.
 *
 * The access phase waits for it (`start()`'s promise) until the upstream's response head is in;
 * the exchange then hands status, headers and the body stream to the context as its answer, and
 * the host writes it through the one response path (header and body phases included). Errors
 * before that point become the context's answer too (502/503/504 JSON); after it, the connection
 * is cut, the only signal left once the head is out.
 */
export class Exchange {
  readonly config: UpstreamProxyConfig;
  body: BodyPlan = { kind: 'none', declared: false };
  private current: Attempt | undefined = undefined;
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

  constructor(
    private readonly rt: ProxyRuntime,
    private readonly ctx: GatewayContext,
    readonly req: NodeRequest,
    readonly res: NodeResponse,
  ) {
    this.config = rt.config;
    this.retriesLeft = rt.config.retries;
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
      this.ctx.log.error(`upstreamProxy: ${plan.message}`);
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
    let request: ClientRequest;
    try {
      request = (target.protocol === 'https:' ? httpsRequest : httpRequest)({
        hostname: target.hostname,
        port: target.port,
        method: ctx.request.method,
        path: upstreamPath(ctx, target, config.stripPath),
        headers: upstreamHeaders(ctx, this.req, {
          target,
          body: this.body,
          stripPath: config.stripPath,
          preserveHost: config.preserveHost,
          authorization: this.authorization,
        }),
        agent: this.rt.agents.for(target),
      });
    } catch (err) {
      // A plugin put a value Node refuses (a newline, say) into a request header.
      this.ctx.log.error('upstreamProxy: could not build the upstream request', describeError(err));
      return this.fail(new InternalError('invalid upstream request', { cause: err }));
    }
    const attempt = new Attempt(this, state, request);
    this.current = attempt;
    request.on('socket', attempt.onSocket);
    request.on('response', attempt.onResponse);
    request.on('error', attempt.onError);
    if (this.body.kind === 'buffer') request.end(this.body.data);
    else if (this.body.kind === 'none') request.end();
  }

  /** A try failed before the response head: another try, or the error for the client. */
  failed(attempt: Attempt, err: unknown): void {
    attempt.abort();
    this.current = undefined;
    if (this.closed) return;
    const failure = classify(err, attempt.connected, attempt.request.reusedSocket);
    if (failure.outcome !== undefined) this.rt.balancer.report(attempt.state, failure.outcome, err);
    if (failure.retriable && this.retriesLeft > 0 && !attempt.streamed && IDEMPOTENT.has(this.ctx.request.method)) {
      this.retriesLeft--;
      return this.next();
    }
    this.ctx.log.warn(`upstreamProxy: request to ${attempt.state.target.url} failed`, describeError(err));
    this.fail(failure.error);
  }

  /** The upstream answered: replay once on a 401 with a fresh backend token, else stream it back. */
  respond(attempt: Attempt, response: IncomingMessage): void {
    const { ctx } = this;
    const status = response.statusCode ?? 0;
    ctx.timings.upstreamLatency = Math.round(performance.now() - this.upstreamStart);
    this.rt.balancer.report(attempt.state, status);
    response.once('end', attempt.release);
    response.on('error', noop);
    if (this.closed) {
      attempt.abort();
      return;
    }
    if (status === 401 && this.rt.auth !== undefined && !this.authRetried && this.body.kind !== 'stream') {
      this.authRetried = true;
      this.current = undefined;
      // Drained, not destroyed: the connection goes back to the pool (or is closed if it stalls).
      attempt.draining = true;
      response.resume();
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
    response.once('close', () => {
      if (!response.complete && !attempt.done) this.brokenMidBody(attempt, new Error('upstream closed the connection mid-body'), 'tcp');
    });
    upstreamAnswer(ctx, response);
    this.settle();
  }

  /** The upstream failed after the head was sent: the client can only see the connection cut. */
  brokenMidBody(attempt: Attempt, err: unknown, outcome: 'tcp' | 'timeout'): void {
    if (attempt.done) return;
    attempt.abort();
    this.current = undefined;
    this.rt.balancer.report(attempt.state, outcome, err);
    this.ctx.log.warn(`upstreamProxy: ${attempt.state.target.url} failed mid-response`, describeError(err));
    this.res.destroy();
  }

  /** Answers the client with a tollgate error (or cuts the connection once the answer is given). */
  private fail(err: unknown): void {
    if (this.closed) return;
    this.current?.abort();
    this.current = undefined;
    if (!(err instanceof TollgateError)) this.ctx.log.error('upstreamProxy: unexpected failure', describeError(err));
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
    this.current?.abort();
    this.current = undefined;
  };
}

const noop = (): void => {};

