/**
 * The request context: one per request, shared by every plugin and by app code.
 *
 * It is framework-neutral: adapters fill in a {@link RequestView} and a {@link ResponseView} from
 * Express or Koa (or from nothing, in `tollgate/testing`).
 */
import type { IncomingMessage, ServerResponse, OutgoingHttpHeader } from 'node:http';
import { renderError } from './errors';
import type { AnyPlugin } from './plugin';

/**
 * State shared between plugins for one request, typed by declaration merging (Kong's
 * `kong.ctx.shared`). A plugin that publishes state declares its slice:
 *
 * @example
 * ```ts
 * declare module 'tollgate' {
 *   interface SharedState { tenant: string }
 * }
 * // any plugin or handler: getContext(req).shared.tenant is typed string | undefined
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SharedState {}

/** The authenticated consumer (Kong's consumer), set by an auth plugin, read by rate limiting and caching. */
export interface Consumer {
  /** Stable identifier: the value of the OIDC plugin's `consumerClaim` (Auth0: the client id in `azp`). */
  id: string;
  /** A display name, where the identity provider gave one. */
  username?: string;
}

/** The credential the request was authenticated with. Never holds a secret or a raw token. */
export interface Credential {
  /** Identifies the credential: the token's `jti`, the client id, or a hash of the token. */
  id: string;
  /** How the request authenticated. */
  type: 'bearer' | 'client_credentials' | 'introspection' | (string & {});
  /** The verified claims (JWT payload or introspection result). */
  claims?: Readonly<Record<string, unknown>>;
  /** The granted scopes. */
  scopes?: readonly string[];
}

/** A read view of the request, plus the few writes a gateway makes to what goes upstream. */
export interface RequestView {
  /** Upper-case method. */
  readonly method: string;
  /** The path relative to where the gateway is mounted (`/get` for `/httpbin/get` mounted at `/httpbin`). */
  readonly path: string;
  /** The path as the client sent it, without the query (`/httpbin/get`). */
  readonly originalPath: string;
  /** The mount prefix (`/httpbin`), or '' at the root. */
  readonly mountPath: string;
  /** The raw query string without `?`, or ''. */
  readonly search: string;
  /** The parsed query: repeated names become arrays. */
  readonly query: Readonly<Record<string, string | string[]>>;
  /** The client address, honouring the framework's trust-proxy setting and nothing else. */
  readonly ip: string;
  /** `http` or `https`, honouring the framework's trust-proxy setting. */
  readonly protocol: string;
  /** The Host the client asked for. */
  readonly host: string;
  /** Lower-cased request headers (live: writes below show here). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** One header's value, comma-joined when repeated. */
  header(name: string): string | undefined;
  /** Sets a request header for whatever handles the request next (the upstream or the app's route). */
  setHeader(name: string, value: string): void;
  /** Removes a request header before the request is handled. */
  removeHeader(name: string): void;
  /**
   * Replaces the query string what handles the request next receives (the upstream proxy forwards
   * `search`); `query` is parsed again from it.
   */
  setSearch(search: string): void;
}

/** The response as far as plugins may touch it. */
export interface ResponseView {
  /** The status code (mutable until the head is sent). */
  status: number;
  readonly headersSent: boolean;
  getHeader(name: string): OutgoingHttpHeader | undefined;
  setHeader(name: string, value: OutgoingHttpHeader): void;
  removeHeader(name: string): void;
  /** All headers, names lower-cased. */
  getHeaders(): Record<string, OutgoingHttpHeader | undefined>;
}

/** How an `access` hook ended the request early (Kong's `kong.response.exit`). */
export interface ExitResponse {
  status: number;
  /** A JSON-serialisable value, or raw bytes sent as they are. */
  body?: unknown;
  headers?: Record<string, OutgoingHttpHeader>;
}

/** Request timings in milliseconds. */
export interface Timings {
  /** `performance.now()` when the context was created. */
  readonly start: number;
  /** Time the upstream took to answer (set by the upstream proxy). */
  upstreamLatency?: number;
  /** Time the gateway spent before and after the upstream call. */
  proxyLatency?: number;
}

/** Raw Node objects, where the request came through a server (not in `createTestContext`). */
export interface RawExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** Where a request's context is kept on Node's request (global, so every tollgate copy finds it). */
export const CONTEXT = Symbol.for('tollgate.context');

/** The context already attached to this request, if a gateway ran on it. */
export function contextOf(req: IncomingMessage | undefined): RequestContext | undefined {
  return (req as { [CONTEXT]?: RequestContext } | undefined)?.[CONTEXT];
}

/** The one object per request that every plugin and the app share. */
export class RequestContext {
  /** The authenticated consumer, once an auth plugin set it. */
  consumer: Consumer | undefined = undefined;
  /** The credential used, once an auth plugin set it. */
  credential: Credential | undefined = undefined;
  /** A request id, included in JSON error bodies as `request_id` when set. */
  requestId: string | undefined = undefined;
  /** The early response an `access` hook chose, if any. */
  exited: ExitResponse | undefined = undefined;
  /**
   * The name of the plugin that writes the response itself (the upstream proxy). When set after the
   * access phase, the adapter neither calls the app's handler nor writes a response.
   */
  respondedBy: string | undefined = undefined;
  readonly timings: Timings;
  /** @internal plugins whose access phase has run, in order */
  readonly ran: AnyPlugin[] = [];
  /**
   * @internal private per-request state, one object per plugin instance (made on first use):
   * `localStates[i]` belongs to `localOwners[i]`. Two short arrays rather than a Map: a request
   * sees a handful of plugins, and a Map per request showed among the hit path's allocations.
   */
  private localOwners: AnyPlugin[] | undefined = undefined;
  private localStates: object[] | undefined = undefined;
  /** @internal whether any plugin that ran has a headerFilter */
  hasHeaderFilter = false;
  /** @internal whether any plugin that ran has a bodyFilter */
  hasBodyFilter = false;
  /** @internal whether any plugin that ran has a log hook */
  hasLog = false;
  /** @internal whether the log phase will run when the response closes */
  logArmed = false;
  /** @internal plugins that have nothing left to do in the later phases of this request (see `settle`) */
  settled: AnyPlugin[] | undefined = undefined;
  /** @internal whether the header phase ran */
  headerFiltered = false;

  private sharedState: Partial<SharedState> | undefined = undefined;

  /** Typed state shared by plugins (see {@link SharedState}); made on first use. */
  get shared(): Partial<SharedState> {
    return (this.sharedState ??= {});
  }

  constructor(
    readonly request: RequestView,
    readonly response: ResponseView,
    readonly raw?: RawExchange,
  ) {
    this.timings = { start: performance.now() };
  }

  /**
   * Ends the request early: later plugins' `access` hooks are skipped, the app's handler is not
   * called, and the response is `status` with `body` (JSON unless a Buffer or string).
   * `headerFilter` and `log` still run for the plugins that already ran.
   */
  exit(status: number, body?: unknown, headers?: Record<string, OutgoingHttpHeader>): void {
    this.exited = { status, body, headers };
  }

  /** Ends the request early with the rendering of an error (see docs/errors.md). */
  fail(err: unknown): void {
    const r = renderError(err, this.requestId);
    this.exit(r.status, r.body, r.headers);
  }

  /** The private per-request state of one plugin instance. */
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
}
