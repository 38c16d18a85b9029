/**
 * The one writer of tollgate's own answers: early exits, rendered errors, cache hits and proxied
 * responses all pass through `prepareAnswer`, which puts the head together, runs the header phase
 * and wires the body phase, whatever host then hands the result to the client (Node's response in
 * `writeAnswer`, Koa's `ctx.body` in the Koa adapter, nothing at all in `tollgate/testing`).
 */
import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { isReadable, type NodeResponse } from './context';
import { InternalError, renderError, UpstreamError, type RenderedError } from './errors';
import type { GatewayContext } from './gateway-context';
import { describeError } from './logger';
import { BodyPhase, responseGone, runBodyFilters, runHeaderPhase } from './phases';

/** The bytes and content type of an exit body: JSON unless it is already bytes or text. */
export function serializeBody(body: unknown): { payload: Buffer | string; type: string } | undefined {
  if (body === undefined) return undefined;
  // No copy: a cache hit replays its stored bytes as they are.
  if (Buffer.isBuffer(body)) return { payload: body, type: 'application/octet-stream' };
  if (body instanceof Uint8Array) return { payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength), type: 'application/octet-stream' };
  if (typeof body === 'string') return { payload: body, type: 'text/plain; charset=utf-8' };
  return { payload: JSON.stringify(body), type: 'application/json; charset=utf-8' };
}

/** Milliseconds since the request began, rounded, for the latency headers. */
export const elapsed = (ctx: GatewayContext): number => Math.round(performance.now() - ctx.timings.start);

/** RFC 9110 §6.4.1: these answers have no content, whatever their headers say. */
const bodiless = (status: number): boolean => status === 204 || status === 304 || (status >= 100 && status < 200);

/** An answer ready for a host to send: the header phase has run, the body phase is wired in. */
export interface PreparedAnswer {
  status: number;
  /**
   * The head as one object when no header phase had to see it (Node's fast path for
   * `writeHead(status, headers)`); `undefined` when it is already on the response.
   */
  headers: OutgoingHttpHeaders | undefined;
  /** Whole bytes (after the body phase), a stream (the body phase inside it), or nothing. */
  body: Buffer | string | Readable | undefined;
  /** False for HEAD and for statuses without content: the body is not sent (its length still is). */
  sendBody: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * Puts `ctx.answer` together: its headers plus `Content-Type`, `Content-Length` and, for answers
 * tollgate made itself, `X-Tollgate-Response-Latency`; then the header phase and the body phase.
 *
 * @param ownStream - give a streamed body back as a stream of tollgate's own, never the source
 *   itself (Koa attaches its error handling to whatever stream it is given; a source that fails
 *   mid-body is dealt with here, by cutting the connection, not rendered again by the host)
 */
export function prepareAnswer(ctx: GatewayContext, ownStream = false): PreparedAnswer {
  const answer = ctx.answer!;
  const res = ctx.response;
  const source = isReadable(answer.body) ? answer.body : undefined;
  const whole = source === undefined ? serializeBody(answer.body) : undefined;
  // With a header phase to run, the headers go straight onto the response (filters see them
  // there) and the head is written with none of its own; without one, they go to writeHead as
  // one object. Either way each header is handled once. Names keep the case they were given in
  // (clients see `X-Cache-Status`, as Kong sends it).
  const filtered = ctx.hasHeaderFilter && !ctx.headerFiltered;
  const headers: OutgoingHttpHeaders = {};
  const put = filtered ? (name: string, value: OutgoingHttpHeader) => res.setHeader(name, value) : (name: string, value: OutgoingHttpHeader) => (headers[name] = value);
  let hasType = false;
  if (answer.headers) {
    for (const name in answer.headers) {
      const value = answer.headers[name];
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      // A whole body's length is counted here; a stream's is the source's to say.
      if (source === undefined && (lower === 'content-length' || lower === 'x-tollgate-response-latency')) continue;
      if (lower === 'content-type') hasType = true;
      put(name, value);
    }
  }
  if (whole && !hasType && res.getHeader('content-type') === undefined) put('Content-Type', whole.type);
  if (source === undefined) {
    // RFC 9110 §8.6: never on a 204 or 1xx; on a 304 only the stored representation's length.
    const status = answer.status;
    const length = status === 204 || status < 200 ? undefined : whole ? Buffer.byteLength(whole.payload) : status === 304 ? undefined : 0;
    if (length !== undefined) put('Content-Length', length);
  }
  if (ctx.answeredBy === 'gateway') put('X-Tollgate-Response-Latency', String(elapsed(ctx)));

  let status = answer.status;
  if (filtered) {
    res.status = status;
    runHeaderPhase(ctx);
    status = res.status;
  } else {
    ctx.headerFiltered = true;
  }
  const sendBody = ctx.request.method !== 'HEAD' && !bodiless(status);
  const bodyPhase = ctx.hasBodyFilter && !ctx.bodyHandled;
  ctx.bodyHandled = true;

  if (source !== undefined) {
    const raw = ctx.raw?.res;
    source.once('error', (err) => {
      // The head is out: cutting the connection is the only way left to say the body broke.
      // (The upstream proxy reports its own failures.)
      if (ctx.answeredBy === 'gateway') ctx.log.warn('a streamed response failed mid-body', describeError(err));
      raw?.destroy();
    });
    const body = bodyPhase ? source.pipe(new BodyPhase(ctx)) : ownStream ? source.pipe(new PassThrough()) : source;
    return { status, headers: filtered ? undefined : headers, body, sendBody };
  }

  let body: Buffer | string | undefined = whole?.payload;
  if (bodyPhase) {
    const bytes = body === undefined ? EMPTY : typeof body === 'string' ? Buffer.from(body) : body;
    const out = runBodyFilters(ctx, sendBody ? bytes : EMPTY, true);
    if (sendBody && out !== bytes) {
      body = out;
      // A filter replaced the body: the length said above is no longer true.
      if (filtered) res.setHeader('Content-Length', out.length);
      else headers['Content-Length'] = out.length;
    }
  }
  return { status, headers: filtered ? undefined : headers, body, sendBody };
}

/** Sends `ctx.answer` on Node's response (HTTP/1, or HTTP/2 through the compatibility API). */
export function writeAnswer(ctx: GatewayContext, res: NodeResponse): void {
  if (res.headersSent) {
    // Something else wrote the head already: the answer can only be a cut connection.
    res.destroy();
    return;
  }
  if (responseGone(res)) {
    const body = ctx.answer!.body;
    if (isReadable(body)) body.destroy();
    return;
  }
  let prepared: PreparedAnswer;
  try {
    prepared = prepareAnswer(ctx);
    if (prepared.headers === undefined) res.writeHead(prepared.status);
    else res.writeHead(prepared.status, prepared.headers);
  } catch (err) {
    const fallback = unsendable(ctx, err);
    if (res.headersSent) return void res.destroy();
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.writeHead(fallback.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(fallback.payload) });
    res.end(fallback.payload);
    return;
  }
  const { body, sendBody } = prepared;
  if (!isReadable(body)) {
    if (sendBody && body !== undefined) res.end(body);
    else res.end();
    return;
  }
  // The client may leave first: stop reading what nobody will receive.
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  (body as Readable).pipe(res as NodeJS.WritableStream);
}

/**
 * An answer Node refused to send (a plugin put a newline in a header value, say): logged with its
 * cause, and replaced by tollgate's 500 JSON, or 502 when the head came from the upstream.
 */
export function unsendable(ctx: GatewayContext, err: unknown): RenderedError & { payload: string } {
  ctx.log.error('the response head could not be sent', describeError(err));
  const body = ctx.answer?.body;
  if (isReadable(body)) body.destroy();
  const rendered = renderError(
    ctx.answeredBy === 'upstream' ? new UpstreamError(undefined, { cause: err }) : new InternalError('unsendable answer', { cause: err }),
    ctx.requestId,
  );
  return { ...rendered, payload: JSON.stringify(rendered.body) };
}
