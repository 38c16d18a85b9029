/**
 * W3C Trace Context propagation (`traceparent`, `tracestate`) for when no propagator is registered
 * with `@opentelemetry/api` (a `tracerProvider` passed in, never `register()`ed): the API alone
 * has none, its implementation is in `@opentelemetry/core`, which is not our dependency, and the
 * header is one line of hex. When the application registered a propagator (W3C, B3, …), that one
 * is used instead.
 *
 * @see https://www.w3.org/TR/trace-context/#traceparent-header
 */
import { createTraceState, isSpanContextValid, propagation, trace, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Whether the application registered a propagator (the API's default one has no fields). */
const registered = (): boolean => propagation.fields().length > 0;

/** The context the request's headers carry (the caller's span as the remote parent), on top of `base`. */
export function extract(base: Context, headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  if (registered()) return propagation.extract(base, headers, getter);
  const match = TRACEPARENT.exec(first(headers.traceparent)?.trim() ?? '');
  // Version ff is invalid; version 00 has nothing after the flags.
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return base;
  const state = first(headers.tracestate);
  const parent = { traceId: match[2]!, spanId: match[3]!, traceFlags: parseInt(match[4]!, 16) & 1, isRemote: true, ...(state ? { traceState: createTraceState(state) } : {}) };
  return isSpanContextValid(parent) ? trace.setSpanContext(base, parent) : base;
}

/** Writes the span of `context` as `traceparent` (and `tracestate`) through `set`. */
export function inject(context: Context, set: (name: string, value: string) => void): void {
  if (registered()) return propagation.inject(context, set, setter);
  const sc = trace.getSpanContext(context);
  if (!sc || !isSpanContextValid(sc)) return;
  set('traceparent', `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`);
  const state = sc.traceState?.serialize();
  if (state) set('tracestate', state);
}

const getter: TextMapGetter<Readonly<Record<string, string | string[] | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

const setter: TextMapSetter<(name: string, value: string) => void> = {
  set: (set, key, value) => set(key, value),
};
