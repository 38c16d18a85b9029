/**
 * The implementation of {@link RequestContext}, with the bookkeeping the pipeline and the response
 * path keep for a request. Nothing here is exported from a public entry point: plugins and app
 * code see the interface, so which plugins ran and which phases are due stays tollgate's business.
 */
import type { OutgoingHttpHeader } from 'node:http';
import type { ExitResponse, NodeRequest, RawExchange, RequestContext, RequestView, ResponseView, SharedState, Timings } from './context';
import type { AnswerSource } from './diagnostics';
import { renderError, TollgateError } from './errors';
import type { Logger } from './logger';
import type { AnyPlugin } from './plugin';

export class GatewayContext implements RequestContext {
  consumer: RequestContext['consumer'] = undefined;
  credential: RequestContext['credential'] = undefined;
  requestId: string | undefined = undefined;
  readonly timings: Timings;

  /** The response an access hook chose (an exit, a rendered error, the upstream's answer), if any. */
  answer: ExitResponse | undefined = undefined;
  /** Who made `answer`. */
  answeredBy: AnswerSource | undefined = undefined;
  /** The code of the error `fail` answered with (what metrics and traces report), if it did. */
  errorCode: string | undefined = undefined;
  /** Plugins whose access phase has run, in order (several gateways may add to it). */
  readonly ran: AnyPlugin[] = [];
  /** Plugins with nothing left to do in the later phases of this request (see `settle`). */
  settled: AnyPlugin[] | undefined = undefined;
  /** Whether a plugin that ran (and has not settled) has a headerFilter, a bodyFilter, a log hook. */
  hasHeaderFilter = false;
  hasBodyFilter = false;
  hasLog = false;
  /** Whether the log phase will run when the response closes. */
  logArmed = false;
  /** Whether the header phase ran. */
  headerFiltered = false;
  /** Whether the body phase is taken care of (run, or wired to the body as it streams). */
  bodyHandled = false;
  /** Whether the app's response is intercepted for the header and body phases (Node hosts). */
  intercepted = false;

  /**
   * Private per-request state, one object per plugin instance (made on first use):
   * `localStates[i]` belongs to `localOwners[i]`. Two short arrays rather than a Map: a request
   * sees a handful of plugins, and a Map per request showed among the hit path's allocations.
   */
  private localOwners: AnyPlugin[] | undefined = undefined;
  private localStates: object[] | undefined = undefined;
  private sharedState: Partial<SharedState> | undefined = undefined;

  constructor(
    readonly request: RequestView,
    readonly response: ResponseView,
    readonly raw: RawExchange | undefined,
    readonly log: Logger,
  ) {
    this.timings = { start: performance.now() };
  }

  get shared(): Partial<SharedState> {
    return (this.sharedState ??= {});
  }

  exit(status: number, body?: unknown, headers?: Record<string, OutgoingHttpHeader>): void {
    this.answer = { status, body, headers };
    this.answeredBy = 'gateway';
  }

  fail(err: unknown): void {
    const r = renderError(err, this.requestId);
    this.exit(r.status, r.body, r.headers);
    this.errorCode = err instanceof TollgateError ? err.code : 'ERR_INTERNAL_UNEXPECTED';
  }

  local<T extends object>(plugin: AnyPlugin): T {
    const owners = (this.localOwners ??= []);
    const states = (this.localStates ??= []);
    const i = owners.indexOf(plugin);
    if (i !== -1) return states[i] as T;
    const state = {};
    owners.push(plugin);
    states.push(state);
    return state as T;
  }

  /** Whether the response still needs its header or body phase run by whoever writes it. */
  get needsPhases(): boolean {
    return (this.hasHeaderFilter && !this.headerFiltered) || (this.hasBodyFilter && !this.bodyHandled);
  }
}

/**
 * Where a request's context is kept on Node's request. A symbol of this copy of tollgate: two
 * copies in one process (nested versions) each keep their own context and never read the other's.
 */
const CONTEXT = Symbol('tollgate.context');

/** The context a gateway of this copy of tollgate attached to this request, if any. */
export function contextOf(req: NodeRequest | undefined): GatewayContext | undefined {
  return (req as { [CONTEXT]?: GatewayContext } | undefined)?.[CONTEXT];
}

/** Keeps `ctx` on Node's request: one property on one Node object. */
export function keepContext(req: NodeRequest, ctx: GatewayContext): void {
  (req as { [CONTEXT]?: GatewayContext })[CONTEXT] = ctx;
}

/**
 * The implementation behind a context a plugin was handed.
 *
 * @throws TypeError when the context was not made by this copy of tollgate.
 */
export function internal(ctx: RequestContext): GatewayContext {
  if (ctx instanceof GatewayContext) return ctx;
  throw new TypeError('tollgate: this request context was not made by this copy of tollgate (use the createTestContext and gateway of the same package)');
}
