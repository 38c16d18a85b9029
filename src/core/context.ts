/**
 * The request context as plugins and app code see it: one per request, shared by every plugin
 * and by the app (`getContext(req)`).
 *
 * It is an interface on purpose: what the pipeline keeps for itself (which plugins ran, which
 * phases are due, how the request was answered) lives in the implementation
 * (gateway-context.ts) and is not reachable from user code. Adapters fill in a
 * {@link RequestView} and a {@link ResponseView} from Express, Koa or Node (or from nothing, in
 * `tollgate/testing`).
 */
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Logger } from './logger';
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
  /**
   * Stable identifier: the value of the OIDC plugin's `consumerClaim` (Auth0: the client id in
   * `azp`), or the `id` of the registered consumer it maps to (`oidc({ consumers })`).
   */
  id: string;
  /** A display name, where the identity provider gave one (Kong's consumer `username`). */
  username?: string;
  /** Kong's consumer `custom_id`, for consumers from a registry (`consumers([...])`). */
  customId?: string;
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
  /**
   * The path relative to where the gateway is mounted (`/get` for `/httpbin/get` mounted at
   * `/httpbin`), normalised as {@link RequestView.originalPath} is.
   */
  readonly path: string;
  /**
   * The path the client asked for, without the query (`/httpbin/get`), normalised as RFC 3986
   * §6.2.2 says and Kong does before routing: percent-encoded unreserved characters decoded,
   * remaining escapes upper-cased, `.` and `..` segments removed; an absolute-form target
   * (`GET http://host/x`) is reduced to its path. Plugins, cache keys and the upstream all see this form.
   */
  readonly originalPath: string;
  /** The mount prefix (`/httpbin`), or '' at the root. */
  readonly mountPath: string;
  /**
   * The route the framework matched, as a pattern where it knows one: the mount prefix plus the
   * route's own path (`/users/:id` for Express's `app.get('/users/:id', gateway(...))` or
   * @koa/router), else the mount prefix; `/` at the root. Rate-limit counters are kept per route.
   */
  readonly route: string;
  /** The raw query string without `?`, or ''. */
  readonly search: string;
  /** The parsed query: repeated names become arrays. */
  readonly query: Readonly<Record<string, string | string[]>>;
  /** The client address, honouring the framework's trust-proxy setting and nothing else. */
  readonly ip: string;
  /** `http` or `https`, honouring the framework's trust-proxy setting. */
  readonly protocol: string;
  /** The Host the client asked for (`:authority` over HTTP/2). */
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

/** How an `access` hook answered the request itself (Kong's `kong.response.exit`). */
export interface ExitResponse {
  status: number;
  /**
   * A JSON-serialisable value, a string (sent as text), bytes (sent as they are) or a Node
   * `Readable` (streamed through the body phase; give its `Content-Length` in `headers` if known).
   */
  body?: unknown;
  headers?: Record<string, OutgoingHttpHeader>;
}

/** Request timings in milliseconds. */
export interface Timings {
  /** `performance.now()` when the context was created. */
  readonly start: number;
  /** Time the upstream took to answer (set by the upstream proxy). */
  upstreamLatency?: number;
  /**
   * Time the gateway spent before it handed the request on: to the upstream (set by the upstream
   * proxy), or to the app's handler (set by the host adapter).
   */
  proxyLatency?: number;
}

/** Node's request as a gateway receives it: HTTP/1 or the HTTP/2 compatibility API. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** Node's response as a gateway receives it: HTTP/1 or the HTTP/2 compatibility API. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** Raw Node objects, where the request came through a server (not in `createTestContext`). */
export interface RawExchange {
  readonly req: NodeRequest;
  readonly res: NodeResponse;
}

/**
 * The one object per request that every plugin and the app share.
 *
 * @example
 * ```ts
 * import { definePlugin } from 'tollgate';
 *
 * const tenantOnly = definePlugin({
 *   name: 'tenant-only',
 *   priority: 1000,
 *   access(ctx) {
 *     if (!ctx.request.header('x-tenant')) ctx.exit(400, { message: 'X-Tenant is required' });
 *   },
 * });
 * ```
 */
export interface RequestContext {
  /** The request, as plugins may read and adjust it. */
  readonly request: RequestView;
  /** The response status and headers, mutable until the head is sent. */
  readonly response: ResponseView;
  /** The authenticated consumer, once an auth plugin set it. */
  consumer: Consumer | undefined;
  /** The credential used, once an auth plugin set it. */
  credential: Credential | undefined;
  /** A request id, included in JSON error bodies as `request_id` when set. */
  requestId: string | undefined;
  /** Typed state shared by plugins (see {@link SharedState}); made on first use. */
  readonly shared: Partial<SharedState>;
  /** Request timings. */
  readonly timings: Timings;
  /** Node's request and response, where the request came through a server. */
  readonly raw: RawExchange | undefined;
  /** The logger of the gateway handling this request (its `logger` option, else the one `setLogger` set). */
  readonly log: Logger;
  /**
   * Ends the request early: later plugins' `access` hooks are skipped, the app's handler is not
   * called, and the response is `status` with `body` (JSON unless bytes, a string or a stream).
   * `headerFilter`, `bodyFilter` and `log` still run for the plugins that already ran.
   */
  exit(status: number, body?: unknown, headers?: Record<string, OutgoingHttpHeader>): void;
  /** Ends the request early with the rendering of an error (see docs/errors.md). */
  fail(err: unknown): void;
  /** The private per-request state of one plugin instance (made on first use). */
  local<T extends object>(plugin: AnyPlugin): T;
}

/** Whether a value is a Node readable stream (a streamed exit body). */
export const isReadable = (body: unknown): body is Readable =>
  typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function' && typeof (body as Readable).on === 'function';
