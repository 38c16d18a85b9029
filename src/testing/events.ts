/**
 * `captureEvents()`: collects what tollgate publishes on its diagnostics channels while a test
 * runs, so a test can assert why a request went the way it did ("refused by rate limiting",
 * "answered from the cache", "the upstream timed out") without scraping logs or headers.
 */
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import type { RequestContext } from '../core/context';
import {
  diagnosticsChannels,
  type CacheMessage,
  type DiagnosticsChannelName,
  type IdpCallMessage,
  type PluginPhaseMessage,
  type RequestMessage,
  type UpstreamTryMessage,
} from '../core/diagnostics';

/** The message type of each channel. */
export interface ChannelMessages {
  'tollgate:request': RequestMessage;
  'tollgate:plugin': PluginPhaseMessage;
  'tollgate:upstream': UpstreamTryMessage;
  'tollgate:idp': IdpCallMessage;
  'tollgate:cache': CacheMessage;
}

/** A copy of a message as it was when published (messages fill in their outcome as they go). */
export type Snapshot<M> = { -readonly [K in keyof M as M[K] extends (...args: never[]) => unknown ? never : K]: M[K] };

/**
 * One event: the channel, which of its events (`publish` for the plain `tollgate:cache`), and the
 * message then. Checking `channel` narrows `message`.
 */
export type CapturedEvent<C extends DiagnosticsChannelName = DiagnosticsChannelName> = C extends DiagnosticsChannelName
  ? { readonly channel: C; readonly event: 'start' | 'end' | 'error' | 'publish'; readonly message: Snapshot<ChannelMessages[C]> }
  : never;

/** What {@link captureEvents} returns. */
export interface EventCapture {
  /** Every event so far, in the order published. */
  readonly events: CapturedEvent[];
  /**
   * The messages of one channel's `end` events (for `tollgate:cache`, its verdicts), optionally
   * only those of one request.
   */
  ended<C extends DiagnosticsChannelName>(channel: C, ctx?: RequestContext): Snapshot<ChannelMessages[C]>[];
  /**
   * Resolves with the first `end` message of `channel` that matches (one already captured, or the
   * next one): for what happens after the client has its response, such as the log phase.
   */
  waitFor<C extends DiagnosticsChannelName>(channel: C, match?: (message: Snapshot<ChannelMessages[C]>) => boolean): Promise<Snapshot<ChannelMessages[C]>>;
  /** Forgets the events so far. */
  clear(): void;
  /** Stops capturing (call it in `afterEach`). */
  stop(): void;
}

const TRACED = [diagnosticsChannels.request, diagnosticsChannels.plugin, diagnosticsChannels.upstream, diagnosticsChannels.idp] as const;

/** A shallow copy of a message's fields (its `ctx` included), without its methods. */
function snapshot(message: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...message };
  if ('ctx' in message) copy.ctx = (message as { ctx: unknown }).ctx;
  return copy;
}

/**
 * Captures tollgate's diagnostics events (every channel, or those named) until `stop()`.
 *
 * @example
 * ```ts
 * const events = captureEvents();
 * await request(app).get('/httpbin/get').expect(429);
 * expect(events.ended('tollgate:plugin')).toContainEqual(
 *   expect.objectContaining({ plugin: 'rate-limiting', outcome: 'answered', code: 'ERR_RATE_LIMIT_EXCEEDED' }),
 * );
 * events.stop();
 * ```
 */
export function captureEvents(channels: readonly DiagnosticsChannelName[] = Object.values(diagnosticsChannels)): EventCapture {
  const events: CapturedEvent[] = [];
  const waiting: { channel: DiagnosticsChannelName; match: (m: never) => boolean; resolve: (m: never) => void }[] = [];
  const record = (channel: DiagnosticsChannelName, event: CapturedEvent['event'], message: object): void => {
    const captured = { channel, event, message: snapshot(message) } as CapturedEvent;
    events.push(captured);
    if (event !== 'end' && event !== 'publish') return;
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i]!;
      if (w.channel === channel && w.match(captured.message as never)) {
        waiting.splice(i, 1);
        w.resolve(captured.message as never);
      }
    }
  };
  const undo: (() => void)[] = [];
  for (const name of channels) {
    if (name === diagnosticsChannels.cache) {
      const onVerdict = (message: unknown) => record(name, 'publish', message as object);
      subscribe(name, onVerdict);
      undo.push(() => unsubscribe(name, onVerdict));
      continue;
    }
    if (!(TRACED as readonly string[]).includes(name)) throw new TypeError(`captureEvents: unknown channel ${JSON.stringify(name)}`);
    const handlers = {
      start: (m: object) => record(name, 'start', m),
      end: (m: object) => record(name, 'end', m),
      error: (m: object) => record(name, 'error', m),
      asyncStart: () => {},
      asyncEnd: () => {},
    };
    const channel = tracingChannel<object, object>(name);
    channel.subscribe(handlers);
    undo.push(() => channel.unsubscribe(handlers));
  }
  const isEnd = (e: CapturedEvent) => e.event === 'end' || e.event === 'publish';
  return {
    events,
    ended: (channel, ctx) =>
      events.filter((e) => e.channel === channel && isEnd(e) && (ctx === undefined || (e.message as { ctx?: unknown }).ctx === ctx)).map((e) => e.message) as never,
    waitFor: (channel, match = () => true) => {
      const seen = events.find((e) => e.channel === channel && isEnd(e) && match(e.message as never));
      if (seen) return Promise.resolve(seen.message as never);
      return new Promise((resolve) => waiting.push({ channel, match: match as (m: never) => boolean, resolve: resolve as (m: never) => void }));
    },
    clear: () => void events.splice(0),
    stop: () => {
      for (const u of undo.splice(0)) u();
    },
  };
}
