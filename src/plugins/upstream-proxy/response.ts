/**
 * What the client receives: the upstream's status and headers (hop-by-hop ones removed) with
 * `Via` and the latency headers, or the gateway's own JSON error.
 *
 * Both are written on Node's response, so the adapters' hooks still run every plugin's
 * `headerFilter`, `bodyFilter` and `log` (rate-limit headers, cache capture) on them.
 *
 * @see https://developer.konghq.com/gateway/traffic-control/proxy/#response-headers — Kong's Via and latency headers
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../../core/context';
import { renderError } from '../../core/errors';
import { connectionListed, HOP_BY_HOP } from './forwarded-headers';

/** Copies the upstream response head onto `res` and sends it. */
export function writeUpstreamHead(ctx: RequestContext, res: ServerResponse, upstream: IncomingMessage): void {
  const raw = upstream.rawHeaders;
  const listed = connectionListed(upstream.headers.connection);
  let seen: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key) || listed?.has(key)) continue;
    // Repeated headers (Set-Cookie, Vary, …) stay repeated, in order; names keep their case.
    if (seen?.has(key)) res.appendHeader(name, raw[i + 1]!);
    else {
      res.setHeader(name, raw[i + 1]!);
      (seen ??= new Set()).add(key);
    }
  }
  const via = upstream.headers.via;
  const ours = `${upstream.httpVersion} tollgate`;
  res.setHeader('Via', via ? `${via}, ${ours}` : ours);
  res.setHeader('X-Tollgate-Upstream-Latency', String(ctx.timings.upstreamLatency ?? 0));
  res.setHeader('X-Tollgate-Proxy-Latency', String(ctx.timings.proxyLatency ?? 0));
  res.writeHead(upstream.statusCode ?? 502);
}

/**
 * Answers with a tollgate error as DESIGN.md renders it (`{"message": …}`), or cuts the
 * connection when the response head is already out.
 */
export function writeError(ctx: RequestContext, res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = renderError(err, ctx.requestId);
  const payload = JSON.stringify(body);
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.setHeader('X-Tollgate-Response-Latency', String(Math.round(performance.now() - ctx.timings.start)));
  res.end(ctx.request.method === 'HEAD' ? undefined : payload);
}
