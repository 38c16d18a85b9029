/**
 * The request headers sent upstream: the context's headers (what earlier plugins set, such as the
 * OIDC plugin's Authorization) without hop-by-hop headers, plus Kong's forwarding headers.
 *
 * Whether the client's own `X-Forwarded-*` headers are trusted is the framework's trust-proxy
 * decision, read back from the context: the framework used them when `ctx.request.ip` differs from
 * the connecting peer's address, or `ctx.request.protocol` from the connection's scheme. Then the
 * chain is extended (`X-Forwarded-For: <client's>, <peer>`) and the client's `-Proto`, `-Host`,
 * `-Port`, `-Path` and `-Prefix` are kept; otherwise all of them are replaced with what this
 * server saw, so a client cannot spoof its address to the upstream.
 *
 * @see https://developer.konghq.com/gateway/traffic-control/proxy/#headers — Kong's upstream headers
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 — hop-by-hop headers
 */
import type { TLSSocket } from 'node:tls';
import type { NodeRequest, RequestContext } from '../../core/context';
import type { TargetConfig } from './options';
import type { BodyPlan } from './request-body';

/** Hop-by-hop headers (RFC 9110 §7.6.1 and the legacy ones): never forwarded, either way. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

// What the proxy sets itself; `expect` because Node's server already answered `100 Continue`.
const SET_BY_PROXY: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-path',
  'x-forwarded-prefix',
  'x-real-ip',
  'via',
]);

// Methods Node sends chunked when no length is given: an empty body must say `Content-Length: 0`.
const BODY_EXPECTED: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** Further header names a `Connection` header declares hop-by-hop (`Connection: close, X-Foo`). */
export function connectionListed(value: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  let names: Set<string> | undefined;
  for (const token of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (names ??= new Set()).add(name);
  }
  return names;
}

/** What the client sent, by lower-cased name, read back from `rawHeaders`; only `wanted` names when given. */
function clientSent(req: NodeRequest, wanted?: ReadonlySet<string>): Map<string, string[]> {
  const sent = new Map<string, string[]>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (wanted !== undefined && !wanted.has(name)) continue;
    const values = sent.get(name);
    if (values) values.push(raw[i + 1]!);
    else sent.set(name, [raw[i + 1]!]);
  }
  return sent;
}

/** Whether a header still holds what the client sent: Node keeps the first of some duplicated headers, joins most with ", " (cookies with "; "). */
function untouched(now: string | string[] | undefined, values: readonly string[] | undefined): boolean {
  if (values === undefined || now === undefined) return false;
  if (Array.isArray(now)) return now.length === values.length && now.every((v, i) => v === values[i]);
  return now === values[0] || now === values.join(', ') || now === values.join('; ');
}

/**
 * Of the names the client listed in `Connection`, those whose header still holds what the client
 * sent: hop-by-hop for the client's connection, not forwarded. A header a plugin set or replaced
 * before the proxy ran (a claim header from `oidc`) is the gateway's own, added after the client's
 * hop-by-hop fields were gone (RFC 9110 §7.6.1), so the client's `Connection` cannot remove it.
 */
export function clientHopByHop(
  req: NodeRequest,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  listed: ReadonlySet<string>,
): ReadonlySet<string> {
  const hop = new Set<string>();
  for (const [name, values] of clientSent(req, listed)) if (untouched(headers[name], values)) hop.add(name);
  return hop;
}

/**
 * Of the client's underscored header names, those that must not reach the upstream: CGI, WSGI and
 * Rack servers turn `-` and `_` alike into `_` (`HTTP_X_CLIENT_ID`), so a client's `x_client_id`
 * would merge with, or stand in for, a header the gateway vouches for. A name is dropped when its
 * dashed twin is one the proxy sets, or one a plugin set, replaced or removed. (nginx and Kong drop
 * every underscored name by default; this keeps those nothing of the gateway's shadows.)
 */
export function shadowing(
  req: NodeRequest,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  underscored: readonly string[],
): ReadonlySet<string> {
  const sent = clientSent(req);
  const dropped = new Set<string>();
  for (const name of underscored) {
    const twin = name.replaceAll('_', '-');
    const gateways = SET_BY_PROXY.has(twin) || (headers[twin] === undefined ? sent.has(twin) : !untouched(headers[twin], sent.get(twin)));
    if (gateways) dropped.add(name);
  }
  return dropped;
}

const pushHeader = (out: string[], name: string, value: string | string[] | undefined): void => {
  if (value === undefined) return;
  if (typeof value === 'string') out.push(name, value);
  else for (const v of value) out.push(name, v);
};

/** An IPv4 address as dotted quad, also when the socket reports it IPv4-mapped (`::ffff:1.2.3.4`). */
export const plainIp = (ip: string): string => (ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);

/** Everything besides the context that decides the upstream request head. */
export interface HeaderInputs {
  readonly target: TargetConfig;
  readonly body: BodyPlan;
  readonly stripPath: boolean;
  readonly preserveHost: boolean;
  /** Replaces the client's Authorization (the gateway's own backend token). */
  readonly authorization: string | undefined;
}

/**
 * The upstream request headers as a flat `[name, value, …]` list, which `http.request` writes
 * (validated) without building a header map first.
 */
export function upstreamHeaders(ctx: RequestContext, req: NodeRequest, inputs: HeaderInputs): string[] {
  const headers = ctx.request.headers;
  const named = connectionListed(headers.connection);
  const listed = named === undefined ? undefined : clientHopByHop(req, headers, named);
  const rebuilt = inputs.body.kind === 'buffer';
  const out: string[] = [];
  let underscored: string[] | undefined;
  for (const name in headers) {
    // HTTP/2 pseudo-headers (`:path`, `:authority`, …) describe the request; they are not headers.
    if (name.charCodeAt(0) === 0x3a /* : */) continue;
    if (SET_BY_PROXY.has(name) || listed?.has(name)) continue;
    // A rebuilt body is the parser's decoded bytes: the client's Content-Encoding no longer applies.
    if (rebuilt && name === 'content-encoding') continue;
    if (name === 'authorization' && inputs.authorization !== undefined) continue;
    // Rare: decided after the loop, against what the client sent.
    if (name.includes('_')) (underscored ??= []).push(name);
    else pushHeader(out, name, headers[name]);
  }
  if (underscored !== undefined) {
    const dropped = shadowing(req, headers, underscored);
    for (const name of underscored) if (!dropped.has(name)) pushHeader(out, name, headers[name]);
  }
  if (inputs.authorization !== undefined) out.push('authorization', inputs.authorization);

  const hostHeader = ctx.request.header('host') ?? ctx.request.header(':authority') ?? '';
  out.push('host', inputs.preserveHost && hostHeader ? hostHeader : inputs.target.host);

  const body = inputs.body;
  if (body.kind === 'buffer') out.push('content-length', String(body.data.length));
  else if (body.kind === 'stream') {
    if (body.contentLength !== undefined) out.push('content-length', body.contentLength);
    else out.push('transfer-encoding', 'chunked');
  } else if (body.declared || BODY_EXPECTED.has(ctx.request.method)) out.push('content-length', '0');

  const socket = req.socket;
  const peer = plainIp(socket.remoteAddress ?? '');
  const scheme = (socket as TLSSocket).encrypted ? 'https' : 'http';
  const trusted = plainIp(ctx.request.ip) !== peer || ctx.request.protocol !== scheme;
  const given = (name: string) => (trusted ? ctx.request.header(name) : undefined);

  const forwardedFor = given('x-forwarded-for');
  out.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${peer}` : peer);
  out.push('x-forwarded-proto', given('x-forwarded-proto') ?? scheme);
  out.push('x-forwarded-host', given('x-forwarded-host') ?? hostHeader);
  out.push('x-forwarded-port', given('x-forwarded-port') ?? String(socket.localPort ?? ''));
  out.push('x-forwarded-path', given('x-forwarded-path') ?? ctx.request.originalPath);
  const prefix = given('x-forwarded-prefix') ?? (inputs.stripPath && ctx.request.mountPath !== '' && ctx.request.mountPath !== '/' ? ctx.request.mountPath : undefined);
  if (prefix !== undefined) out.push('x-forwarded-prefix', prefix);
  out.push('x-real-ip', plainIp(ctx.request.ip));
  const via = ctx.request.header('via');
  const ours = `${req.httpVersion} tollgate`;
  out.push('via', via ? `${via}, ${ours}` : ours);
  return out;
}

/**
 * The path and query sent upstream: the target's path joined with the request path, which is
 * relative to the mount with `stripPath` (Kong's `strip_path`), and the query as the client sent it.
 * Built from the context, not `req.url`, so it is the same under Express, Koa and koa-mount.
 */
export function upstreamPath(ctx: RequestContext, target: TargetConfig, stripPath: boolean): string {
  const request = ctx.request;
  // `/httpbin` and `/httpbin/` both have path `/` under Express; Kong keeps them apart.
  const rest = !stripPath ? request.originalPath : request.originalPath.length === request.mountPath.length ? '' : request.path;
  const base = target.basePath;
  const path = rest === '' ? base : base.endsWith('/') && rest.startsWith('/') ? base + rest.slice(1) : base + rest;
  return request.search === '' ? path : `${path}?${request.search}`;
}
