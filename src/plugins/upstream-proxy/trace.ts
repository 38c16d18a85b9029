/**
 * Each try of the proxy on `tollgate:upstream` (see core/diagnostics.ts), made only while someone
 * listens: `start` before the request is sent (a subscriber may set trace headers on it), `end`
 * once its response was read to the end, or the try failed or was given up.
 */
import type { RequestContext } from '../../core/context';
import { redactUrl, upstreamChannel, type TargetHealthState, type UpstreamErrorKind, type UpstreamTryMessage } from '../../core/diagnostics';
import type { GatewayContext } from '../../core/gateway-context';
import type { TargetConfig } from './options';

export class TryTrace implements UpstreamTryMessage {
  readonly #ctx: GatewayContext;
  readonly #headers: string[];
  readonly method: string;
  readonly route: string;
  readonly target: string;
  readonly url: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  outcome: UpstreamTryMessage['outcome'] = undefined;
  status: number | undefined = undefined;
  errorKind: UpstreamErrorKind | undefined = undefined;
  code: string | undefined = undefined;
  health: TargetHealthState | undefined = undefined;
  error: unknown = undefined;

  /**
   * @param path - the path and query sent upstream
   * @param headers - the request's header list (`[name, value, …]`), before the request is made
   */
  constructor(
    ctx: GatewayContext,
    target: TargetConfig,
    path: string,
    headers: string[],
    readonly attempt: number,
  ) {
    this.#ctx = ctx;
    this.#headers = headers;
    this.method = ctx.request.method;
    this.route = ctx.request.route;
    this.target = target.url;
    this.url = redactUrl(`${target.protocol}//${target.host}${path}`);
    this.serverAddress = target.hostname;
    this.serverPort = target.port;
  }

  get ctx(): RequestContext {
    return this.#ctx;
  }

  setHeader(name: string, value: string): void {
    const key = name.toLowerCase();
    const list = this.#headers;
    for (let i = list.length - 2; i >= 0; i -= 2) if (list[i] === key) list.splice(i, 2);
    list.push(key, value);
  }

  /** Publishes `start` and runs `send` (which makes the request) with the channel's stores. */
  start<R>(send: () => R): R {
    return upstreamChannel.start.runStores(this, send);
  }

  /** Publishes `end` (with `error` first for a failed try). */
  end(outcome: 'response' | 'error' | 'aborted', health: TargetHealthState, failure?: { kind: UpstreamErrorKind; code: string | undefined; error: unknown }): void {
    this.outcome = outcome;
    this.health = health;
    if (failure !== undefined) {
      this.errorKind = failure.kind;
      this.code = failure.code;
      this.error = failure.error;
      upstreamChannel.error.publish(this);
    }
    upstreamChannel.end.publish(this);
  }
}
