/**
 * What the client receives from the upstream: its status and headers (hop-by-hop ones removed)
 * with `Via` and the latency headers, and its body as a stream. It becomes the request's answer,
 * which the host writes through the core's one response path, so every plugin's `headerFilter`,
 * `bodyFilter` and `log` (rate-limit headers, cache capture) run on it as on any answer.
 *
 * @see https://developer.konghq.com/gateway/traffic-control/proxy/#response-headers — Kong's Via and latency headers
 */
import type { Readable } from 'node:stream';
import type { GatewayContext } from '../../core/gateway-context';
import { connectionListed, HOP_BY_HOP } from './forwarded-headers';

/** The head of an upstream's response, as either client reads it (node:http's IncomingMessage is one). */
export interface UpstreamHead {
  readonly statusCode?: number;
  /** Names as the upstream spelled them, each followed by its value. */
  readonly rawHeaders: readonly string[];
  /** The two headers read here, lower-cased names. */
  readonly headers: { readonly connection?: string | string[]; readonly via?: string | string[] };
  /** `1.1` */
  readonly httpVersion: string;
}

/** Makes the upstream's response the context's answer, `body` streaming it. */
export function upstreamAnswer(ctx: GatewayContext, upstream: UpstreamHead, body: Readable): void {
  const raw = upstream.rawHeaders;
  const listed = connectionListed(upstream.headers.connection);
  const headers: Record<string, string | string[]> = {};
  // The first spelling of each name, so repeated headers (Set-Cookie, Vary, …) stay one list, in order.
  const spelled = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key) || listed?.has(key)) continue;
    const value = raw[i + 1]!;
    const first = spelled.get(key);
    if (first === undefined) {
      spelled.set(key, name);
      headers[name] = value;
    } else {
      const prev = headers[first]!;
      headers[first] = typeof prev === 'string' ? [prev, value] : [...prev, value];
    }
  }
  const via = Array.isArray(upstream.headers.via) ? upstream.headers.via.join(', ') : upstream.headers.via;
  const ours = `${upstream.httpVersion} tollgate`;
  headers[spelled.get('via') ?? 'Via'] = via ? `${via}, ${ours}` : ours;
  headers['X-Tollgate-Upstream-Latency'] = String(ctx.timings.upstreamLatency ?? 0);
  headers['X-Tollgate-Proxy-Latency'] = String(ctx.timings.proxyLatency ?? 0);
  ctx.answer = { status: upstream.statusCode ?? 502, headers, body };
  ctx.answeredBy = 'upstream';
}
