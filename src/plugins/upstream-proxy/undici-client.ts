/**
 * Tries through undici, Node's own HTTP client project (what `fetch` runs on, and
 * @fastify/http-proxy through @fastify/reply-from): one keep-alive `Pool` per target, requests sent
 * with its low-level `dispatch`, the response streamed back through a small Readable with
 * backpressure (undici stops reading the upstream while the client is slow).
 *
 * Why undici rather than `http.request`: on the proxy benchmark's path a request through undici's
 * dispatch cost the gateway process 77–87 µs of CPU against 116 µs through `http.request` with a
 * keep-alive agent (bench notes in docs/benchmarks.md): no ClientRequest, no IncomingMessage, and
 * the HTTP parser's callbacks go straight to this file.
 *
 * How the proxy's rules map onto it:
 * - `connectTimeout` is a timer of ours until undici has the request on an open connection (TCP and
 *   TLS; undici's own, on its coarse timers, stays as a backstop); `readTimeout` is undici's
 *   headers timeout (silence before the head) and body timeout (silence between two chunks, not
 *   counted while the client's backpressure holds the response); `writeTimeout`, which undici has
 *   not, is a timer of ours while a streamed body goes out, re-armed by each chunk it takes.
 * - `connected` is true once undici wrote the request on an open connection (`onRequestStart`);
 *   a failure before that never reached the upstream. Whether that connection came from the pool
 *   is not something undici says; it checks an idle connection for a pending close before it
 *   reuses it and honours the upstream's `Keep-Alive: timeout` hint, so a reset counts against the
 *   target's health as on a fresh connection.
 * - `keepalive: false` is `pipelining: 0` (a connection per request); `maxSockets` bounds the
 *   pool's connections and `idleTimeout` is how long an idle one is kept.
 */
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { TargetState } from './balancer';
import { InvalidUpstreamRequest, type TryEvents, type UpstreamClient, type UpstreamRequest, type UpstreamTry } from './client';
import type { TargetConfig, UpstreamProxyConfig } from './options';
import type { UpstreamHead } from './response';
import { ProxyTimeoutError } from './upstream-errors';

/** The response body handed to the host: undici pauses while the client is not reading. */
class UpstreamBody extends Readable {
  controller: Dispatcher.DispatchController | undefined = undefined;
  override _read(): void {
    const controller = this.controller;
    if (controller !== undefined && controller.paused) controller.resume();
  }
}

/** undici's names for its failures before the head, as the proxy's error mapping (upstream-errors.ts) reads them. */
function translate(err: Error, config: UpstreamProxyConfig): Error {
  switch ((err as { code?: string }).code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ProxyTimeoutError('connect', config.connectTimeout, err);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ProxyTimeoutError('read', config.readTimeout, err);
    case 'UND_ERR_INVALID_ARG':
      // A plugin put a value undici refuses (a newline, say) into a request header.
      return new InvalidUpstreamRequest(err);
    default:
      return err;
  }
}

/** One try at one target through a pool's `dispatch`. */
class UndiciTry implements UpstreamTry, Dispatcher.DispatchHandler {
  connected = false;
  responded = false;
  streamed = false;
  readonly reused = false;
  done = false;
  private draining = false;
  private controller: Dispatcher.DispatchController | undefined = undefined;
  private body: UpstreamBody | undefined = undefined;
  private writeTimer: NodeJS.Timeout | undefined = undefined;
  private readonly connectTimer: NodeJS.Timeout;

  constructor(
    private readonly events: TryEvents,
    readonly state: TargetState,
    private readonly upstream: UpstreamRequest,
  ) {
    // undici's own connect timeout ticks on its coarse timers (about a second): this one is exact.
    this.connectTimer = setTimeout(this.onConnectTimeout, events.config.connectTimeout);
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.connectTimer);
    this.stopWriteTimer();
    this.controller?.abort(new Error('upstream request aborted by the gateway'));
    this.body?.destroy();
  }

  drain(): void {
    this.draining = true;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    clearTimeout(this.connectTimer);
    // Given up on while undici was still connecting: the request must not go out after all.
    if (this.done) return void controller.abort(new Error('upstream request aborted by the gateway'));
    this.connected = true;
    if (this.upstream.body.kind === 'stream') {
      this.streamed = true;
      const req = this.upstream.req;
      if (!req.readableEnded) {
        this.armWriteTimer();
        req.on('data', this.armWriteTimer);
        req.once('end', this.stopWriteTimer);
      }
    }
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.done) return;
    // 1xx heads (100 Continue) are undici's business; the answer is the final head.
    if (statusCode < 200) return;
    this.responded = true;
    this.stopWriteTimer();
    const body = (this.body = new UpstreamBody());
    body.controller = controller;
    const raw = controller.rawHeaders as Buffer[] | string[] | null | undefined;
    const head: UpstreamHead = {
      statusCode,
      rawHeaders: Array.isArray(raw) ? raw.map((x) => (typeof x === 'string' ? x : x.toString('latin1'))) : flatten(headers),
      headers: { connection: headers.connection, via: headers.via },
      httpVersion: '1.1',
    };
    this.events.respond(this, head, body);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.draining || this.done) return;
    if (!this.body!.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.done) return;
    this.done = true;
    this.body?.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    clearTimeout(this.connectTimer);
    this.stopWriteTimer();
    if (this.done) return;
    if (this.draining) {
      this.done = true;
      return;
    }
    if (this.responded) {
      const timeout = (err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT';
      this.events.brokenMidBody(this, timeout ? new ProxyTimeoutError('read', this.events.config.readTimeout, err) : err, timeout ? 'timeout' : 'tcp');
      this.body?.destroy();
    } else {
      this.events.failed(this, translate(err, this.events.config));
    }
  }

  /** The upstream took no chunk of a streamed body for `writeTimeout`. */
  private armWriteTimer = (): void => {
    if (this.writeTimer !== undefined) this.writeTimer.refresh();
    else this.writeTimer = setTimeout(this.onWriteTimeout, this.events.config.writeTimeout);
  };

  private stopWriteTimer = (): void => {
    if (this.writeTimer !== undefined) clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    this.upstream.req.removeListener('data', this.armWriteTimer);
  };

  private onConnectTimeout = (): void => {
    if (!this.done && !this.connected) this.events.failed(this, new ProxyTimeoutError('connect', this.events.config.connectTimeout));
  };

  private onWriteTimeout = (): void => {
    if (!this.done && !this.responded) this.events.failed(this, new ProxyTimeoutError('write', this.events.config.writeTimeout));
  };
}

/** `{ name: value }` back to a flat list, where undici gave no raw headers. */
function flatten(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}

/** undici refuses these as request headers; it frames the body itself (chunked when no length is known). */
const FRAMED_BY_UNDICI = 'transfer-encoding';

/** The undici client: one pool per target. */
export class UndiciClient implements UpstreamClient {
  private readonly pools = new Map<TargetConfig, Pool>();

  constructor(config: UpstreamProxyConfig) {
    const keepalive = config.keepalive;
    for (const target of config.targets) {
      const origin = `${target.protocol}//${target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname}:${target.port}`;
      this.pools.set(
        target,
        new Pool(origin, {
          connections: keepalive && Number.isFinite(keepalive.maxSockets) ? keepalive.maxSockets : null,
          // Kong's pool of zero idle connections, or keepalive: false: a connection per request.
          pipelining: keepalive && keepalive.poolSize > 0 ? 1 : 0,
          keepAliveTimeout: keepalive ? keepalive.idleTimeout : undefined,
          keepAliveMaxTimeout: keepalive ? keepalive.idleTimeout : undefined,
          connectTimeout: config.connectTimeout,
          headersTimeout: config.readTimeout,
          bodyTimeout: config.readTimeout,
        }),
      );
    }
  }

  send(events: TryEvents, state: TargetState, upstream: UpstreamRequest): UpstreamTry {
    const attempt = new UndiciTry(events, state, upstream);
    const headers = upstream.headers;
    const te = headers.indexOf(FRAMED_BY_UNDICI);
    if (te !== -1 && te % 2 === 0) headers.splice(te, 2);
    const body = upstream.body;
    this.pools.get(state.target)!.dispatch(
      {
        method: upstream.method,
        path: upstream.path,
        headers,
        body: body.kind === 'buffer' ? body.data : body.kind === 'stream' ? (upstream.req as Readable) : null,
      },
      attempt,
    );
    return attempt;
  }

  close(): void {
    for (const pool of this.pools.values()) void pool.destroy().catch(() => {});
  }
}
