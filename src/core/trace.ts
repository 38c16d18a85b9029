/**
 * Publishing on the core's diagnostics channels (see diagnostics.ts): a gateway's handling of a
 * request (`tollgate:request`) and each plugin phase (`tollgate:plugin`). Callers check the
 * channel's `hasSubscribers` first: nothing here runs, and no message is made, while nobody listens.
 */
import type { RequestContext } from './context';
import { pluginChannel, requestChannel, type AnswerSource, type PluginOutcome, type PluginPhase, type PluginPhaseMessage, type RequestMessage } from './diagnostics';
import { TollgateError } from './errors';
import type { GatewayContext } from './gateway-context';
import type { AnyPlugin } from './plugin';

/** Whether a hook returned a promise (or any thenable). */
export const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

/**
 * The message of `tollgate:request`. The context is behind a getter so that logging or
 * serialising a message never dumps the request (and its credentials) by accident.
 */
export class RequestTrace implements RequestMessage {
  readonly #ctx: GatewayContext;
  readonly method: string;
  readonly route: string;
  status: number | undefined = undefined;
  source: AnswerSource | undefined = undefined;
  consumer: string | undefined = undefined;
  code: string | undefined = undefined;

  constructor(ctx: GatewayContext) {
    this.#ctx = ctx;
    this.method = ctx.request.method;
    this.route = ctx.request.route;
  }

  get ctx(): RequestContext {
    return this.#ctx;
  }

  /** Runs `run(...args)` as this request's handling: `start` is published, bound stores are set. */
  start<A extends unknown[], R>(run: (...args: A) => R, ...args: A): R {
    return requestChannel.start.runStores(this, run, undefined, ...args);
  }

  /** Publishes `end` with how the request was answered (call it once the response closed). */
  end(): void {
    const ctx = this.#ctx;
    this.status = ctx.response.headersSent ? ctx.response.status : 499;
    this.source = ctx.answeredBy ?? 'app';
    this.consumer = ctx.consumer?.id;
    this.code = ctx.errorCode;
    requestChannel.end.publish(this);
  }
}

/** The message of `tollgate:plugin`. */
class PhaseTrace implements PluginPhaseMessage {
  readonly #ctx: GatewayContext;
  readonly method: string;
  readonly route: string;
  outcome: PluginOutcome | undefined = undefined;
  status: number | undefined = undefined;
  code: string | undefined = undefined;
  consumer: string | undefined = undefined;
  error: unknown = undefined;

  constructor(
    ctx: GatewayContext,
    readonly plugin: string,
    readonly phase: PluginPhase,
  ) {
    this.#ctx = ctx;
    this.method = ctx.request.method;
    this.route = ctx.request.route;
  }

  get ctx(): RequestContext {
    return this.#ctx;
  }

  /** The hook returned (or its promise resolved). */
  ended(): void {
    const ctx = this.#ctx;
    const answer = this.phase === 'access' ? ctx.answer : undefined;
    if (answer !== undefined) {
      this.outcome = 'answered';
      this.status = answer.status;
      this.code = ctx.errorCode;
    } else {
      this.outcome = 'ok';
    }
    this.consumer = ctx.consumer?.id;
    pluginChannel.end.publish(this);
  }

  /** The hook threw (or its promise rejected): a tollgate error thrown in access is its answer. */
  threw(err: unknown): void {
    this.error = err;
    if (this.phase === 'access') {
      const known = err instanceof TollgateError;
      this.outcome = known ? 'answered' : 'error';
      this.status = known ? err.status : 500;
      this.code = known ? err.code : 'ERR_INTERNAL_UNEXPECTED';
    } else {
      this.outcome = 'error';
    }
    this.consumer = this.#ctx.consumer?.id;
    pluginChannel.error.publish(this);
    pluginChannel.end.publish(this);
  }
}

/**
 * Runs one plugin hook (`call`) as a `tollgate:plugin` operation: `start`, then `end` when it
 * returns or its promise settles (`error` first if it threw). The hook's result, or its error,
 * is passed on unchanged.
 */
export function tracePhase<R>(ctx: GatewayContext, plugin: AnyPlugin, phase: PluginPhase, call: () => R): R {
  const message = new PhaseTrace(ctx, plugin.name, phase);
  return pluginChannel.start.runStores(message, runPhase, undefined, message, call) as R;
}

function runPhase<R>(message: PhaseTrace, call: () => R): R | Promise<unknown> {
  let result: R;
  try {
    result = call();
  } catch (err) {
    message.threw(err);
    throw err;
  }
  if (!isThenable(result)) {
    message.ended();
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      message.ended();
      return value;
    },
    (err: unknown) => {
      message.threw(err);
      throw err;
    },
  );
}
