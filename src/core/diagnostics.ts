/**
 * tollgate's diagnostics channels (`node:diagnostics_channel`): what a gateway does, published for
 * whoever subscribes — the `tollgate/prometheus` and `tollgate/otel` plugins, an APM agent, a test
 * (`captureEvents` in `tollgate/testing`). Nothing is published, and no message is made, while a
 * channel has no subscriber: each publishing point costs one `hasSubscribers` check.
 *
 * Four tracing channels, each an operation with a `start` and an `end` (and an `error` before the
 * `end` when the operation threw or failed), published with the same message object, whose
 * outcome fields are filled in by the time of `end`:
 *
 * | channel | one operation | message |
 * | --- | --- | --- |
 * | `tollgate:request` | one gateway's handling of a request, until the response closes | {@link RequestMessage} |
 * | `tollgate:plugin` | one phase of one plugin (access, headerFilter, bodyFilter per chunk, log) | {@link PluginPhaseMessage} |
 * | `tollgate:upstream` | one try of the upstream proxy at one target, until its response ends | {@link UpstreamTryMessage} |
 * | `tollgate:idp` | one call to the identity provider: discovery, JWKS, token, introspection | {@link IdpCallMessage} |
 *
 * and one plain channel, `tollgate:cache` ({@link CacheMessage}): the proxy cache's verdict on a
 * request. `end` marks the end of an operation however long it took (`asyncStart`/`asyncEnd` are
 * not used). `start` is published through `runStores`, so an `AsyncLocalStorage` bound to a
 * channel's `start` holds its value while the operation runs (and in what it awaits).
 *
 * No message field holds a token, a secret or a raw path: routes are the pattern the framework
 * matched, URLs have their query values redacted. `ctx`, where a message has it, is the request's
 * live context: use it to tell requests apart, not to log whole (its headers carry credentials).
 *
 * @example
 * ```ts
 * import { subscribe, tracingChannel } from 'node:diagnostics_channel';
 * import type { CacheMessage, PluginPhaseMessage } from 'tollgate';
 *
 * tracingChannel('tollgate:plugin').end.subscribe((message) => {
 *   const m = message as PluginPhaseMessage;
 *   if (m.outcome === 'answered') console.log(`${m.plugin} answered ${m.route} with ${m.status} ${m.code ?? ''}`);
 * });
 * subscribe('tollgate:cache', (m) => console.log((m as CacheMessage).status));
 * ```
 * @see https://nodejs.org/api/diagnostics_channel.html#class-tracingchannel
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { RequestContext } from './context';

/** The names of tollgate's channels. */
export const diagnosticsChannels = {
  request: 'tollgate:request',
  plugin: 'tollgate:plugin',
  upstream: 'tollgate:upstream',
  idp: 'tollgate:idp',
  cache: 'tollgate:cache',
} as const;

/** One of tollgate's channel names. */
export type DiagnosticsChannelName = (typeof diagnosticsChannels)[keyof typeof diagnosticsChannels];

/** Who produced a response: tollgate itself, the upstream it proxied to, or the app's handler. */
export type AnswerSource = 'gateway' | 'upstream' | 'app';

/** `tollgate:request`: one gateway's handling of one request (two gateways on a request: two). */
export interface RequestMessage {
  /** The request's context. */
  readonly ctx: RequestContext;
  /** Upper-case method. */
  readonly method: string;
  /** The route the framework matched (`RequestView.route`: `/httpbin`, `/users/:id`), never the raw path. */
  readonly route: string;
  /** At `end`: the status the client received; 499 when the client left before the response head. */
  readonly status: number | undefined;
  /** At `end`: who answered — `gateway` (an exit, a refusal, a cache hit, an error of tollgate's), `upstream` or `app`. */
  readonly source: AnswerSource | undefined;
  /** At `end`: the consumer's id, when an auth plugin set one. */
  readonly consumer: string | undefined;
  /** At `end`: the code of the error tollgate answered with (`ERR_RATE_LIMIT_EXCEEDED`), if it answered with one. */
  readonly code: string | undefined;
}

/** A plugin phase (Kong's access, header_filter, body_filter and log). */
export type PluginPhase = 'access' | 'headerFilter' | 'bodyFilter' | 'log';

/**
 * How a plugin phase went: `ok` (the request goes on), `answered` (the access hook ended the
 * request: an exit, a refusal, a cache hit, the upstream's response — `status` and, for an error,
 * `code` say which), `error` (the hook threw something that is not a tollgate error: a bug; the
 * access phase answers 500, later phases log it).
 */
export type PluginOutcome = 'ok' | 'answered' | 'error';

/** `tollgate:plugin`: one phase of one plugin for one request (`bodyFilter`: one chunk). */
export interface PluginPhaseMessage {
  readonly ctx: RequestContext;
  /** The plugin's name (`oidc`, `rate-limiting`, `proxy-cache`, `upstream-proxy`, yours). */
  readonly plugin: string;
  readonly phase: PluginPhase;
  readonly method: string;
  readonly route: string;
  /** At `end`: how the phase went. */
  readonly outcome: PluginOutcome | undefined;
  /** At `end`, when the access hook answered: the answer's status. */
  readonly status: number | undefined;
  /** At `end`: the error code the hook answered with (`ERR_OIDC_TOKEN_EXPIRED`), when it answered with an error. */
  readonly code: string | undefined;
  /** At `end`: the consumer's id, when an auth plugin set one (by this phase's end). */
  readonly consumer: string | undefined;
  /** At `error` and `end`, when the hook threw: what it threw. */
  readonly error: unknown;
}

/** Why an upstream try failed: connection refused, timed out, reset (or closed mid-response), name not resolved, or not HTTP. */
export type UpstreamErrorKind = 'refused' | 'timeout' | 'reset' | 'dns' | 'protocol';

/** A target's health as the passive checks see it after a try (`healthchecks_off`: a single `url`, never taken out). */
export type TargetHealthState = 'healthy' | 'unhealthy' | 'healthchecks_off';

/** `tollgate:upstream`: one try of the upstream proxy at one target, from the request to the end of its response. */
export interface UpstreamTryMessage {
  readonly ctx: RequestContext;
  readonly method: string;
  readonly route: string;
  /** The target as configured (`http://10.0.0.5:8080/api`). */
  readonly target: string;
  /** The URL of this try, its query values replaced with `REDACTED`. */
  readonly url: string;
  /** The target's host name or address, and port. */
  readonly serverAddress: string;
  readonly serverPort: number;
  /** 1 for the first try of the request, 2 for the first retry, … */
  readonly attempt: number;
  /**
   * During `start` only: sets a header of this try's request (replacing one of that name), for
   * trace propagation (`traceparent`, `tracestate`). Names are lower-cased.
   */
  setHeader(name: string, value: string): void;
  /** At `end`: how the try went — `response` (its response was read to the end), `error`, or `aborted` (the client left, or the proxy gave up on it). */
  readonly outcome: 'response' | 'error' | 'aborted' | undefined;
  /** At `end`: the upstream's status, when its response head came. */
  readonly status: number | undefined;
  /** At `end`, when the try failed: why. */
  readonly errorKind: UpstreamErrorKind | undefined;
  /** At `end`, when the try failed: the code of the error the client got, or would have (`ERR_UPSTREAM_TIMEOUT`). */
  readonly code: string | undefined;
  /** At `end`: the target's health after this try. */
  readonly health: TargetHealthState | undefined;
  /** At `error` and `end`, when the try failed: the socket or timeout error. */
  readonly error: unknown;
}

/** Which identity-provider endpoint a call went to. */
export type IdpEndpoint = 'discovery' | 'jwks' | 'token' | 'introspection';

/**
 * How an identity-provider call went: `ok`, `rejected` (it refused the client's credentials),
 * `unreachable` (no answer, or a timeout: 503) or `invalid` (an answer that is not what the
 * protocol says: 502).
 */
export type IdpOutcome = 'ok' | 'rejected' | 'unreachable' | 'invalid';

/**
 * `tollgate:idp`: one call to the identity provider. Calls are made for a plugin, not for one
 * request (a token or key fetch serves every request waiting for it), so there is no `ctx`; the
 * call runs in the async context of the request that caused it, if one did.
 */
export interface IdpCallMessage {
  readonly endpoint: IdpEndpoint;
  readonly method: 'GET' | 'POST';
  /** The endpoint's URL, query values replaced with `REDACTED`. */
  readonly url: string;
  /** At `end`: the IdP's HTTP status, when it answered. */
  readonly status: number | undefined;
  readonly outcome: IdpOutcome | undefined;
  /** At `end`, when the call failed: the code of the tollgate error it became (`ERR_IDP_UNAVAILABLE`). */
  readonly code: string | undefined;
  /** At `error` and `end`, when the call failed: the tollgate error (its `cause` is the lower-layer one). */
  readonly error: unknown;
}

/** `tollgate:cache` (a plain channel): the proxy cache's final verdict on a request, published once per request. */
export interface CacheMessage {
  readonly ctx: RequestContext;
  readonly route: string;
  /** The verdict, as `X-Cache-Status` says it. */
  readonly status: 'Miss' | 'Hit' | 'Refresh' | 'Bypass';
}

/** The channels, typed; publishers check `hasSubscribers` before making a message. */
export const requestChannel = tracingChannel<object, RequestMessage>(diagnosticsChannels.request);
export const pluginChannel = tracingChannel<object, PluginPhaseMessage>(diagnosticsChannels.plugin);
export const upstreamChannel = tracingChannel<object, UpstreamTryMessage>(diagnosticsChannels.upstream);
export const idpChannel = tracingChannel<object, IdpCallMessage>(diagnosticsChannels.idp);
export const cacheChannel = channel(diagnosticsChannels.cache);

/**
 * A URL with the value of every query parameter replaced by `REDACTED` (tokens travel in queries:
 * `?access_token=…`), and without user info. OpenTelemetry's `url.full` asks for the same.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const base = (q === -1 ? url : url.slice(0, q)).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
  if (q === -1) return base;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash === -1 ? undefined : hash);
  if (query === '') return `${base}?`;
  return `${base}?${query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? pair : `${pair.slice(0, eq)}=REDACTED`;
    })
    .join('&')}`;
}
