/**
 * How the request body goes upstream: not at all, streamed as it arrives, or as bytes rebuilt from
 * what a body parser left on `req.body` when it already read the stream.
 *
 * A body parser mounted before the gateway consumes the stream but leaves `Content-Length`, so a
 * naive proxy makes the upstream wait for bytes that never come (http-proxy-middleware #40, #320).
 * http-proxy-middleware's `fixRequestBody` re-serialises JSON and flat forms; here Buffers and
 * strings (`express.raw()`, `express.text()`) go as they are, JSON and forms (nested ones keep
 * their brackets) are re-serialised from `req.body` as plugins left it, other types fall back to
 * raw bytes a parser kept (`req.rawBody`), and a body that cannot be rebuilt is refused with a
 * clear error instead of hanging.
 */
import type { NodeRequest } from '../../core/context';

/** What to send as the upstream request body. */
export type BodyPlan =
  /** No body: nothing to stream, always safe to send again. */
  | { readonly kind: 'none'; readonly declared: boolean }
  /** Pipe the client's stream; it can be sent once, so no retry after it started. */
  | { readonly kind: 'stream'; readonly contentLength: string | undefined }
  /** Bytes in memory, sent again as they are on a retry. */
  | { readonly kind: 'buffer'; readonly data: Buffer };

/** Why a consumed body could not be rebuilt. */
export class UnreplayableBodyError extends Error {
  constructor(readonly contentType: string) {
    super(
      `the request body (${contentType || 'no content-type'}) was read by a body parser before upstreamProxy and cannot be rebuilt from req.body; ` +
        'mount the gateway before the body parser (or keep the raw bytes on req.rawBody)',
    );
    this.name = 'UnreplayableBodyError';
  }
}

const NONE_DECLARED: BodyPlan = Object.freeze({ kind: 'none', declared: true });
const NONE: BodyPlan = Object.freeze({ kind: 'none', declared: false });

type ParsedRequest = NodeRequest & { body?: unknown; rawBody?: unknown };

/** Decides how the body of `req` is sent upstream. */
export function planBody(req: NodeRequest): BodyPlan | UnreplayableBodyError {
  const headers = req.headers;
  const contentLength = headers['content-length'] as string | undefined;
  // RFC 9112 §6.3: an HTTP/1 request has a body only if it says so. Over HTTP/2 the length is
  // optional: a request has one unless its HEADERS frame ended the stream (RFC 9113 §8.1).
  const http2 = 'stream' in req && !req.stream.endAfterHeaders;
  const hasBody = http2 ? contentLength !== '0' : headers['transfer-encoding'] !== undefined || (contentLength !== undefined && contentLength !== '0');
  if (!hasBody) return contentLength === undefined ? NONE : NONE_DECLARED;
  if (!req.readableEnded) return { kind: 'stream', contentLength: headers['transfer-encoding'] === undefined ? contentLength : undefined };
  // (an HTTP/2 body of unknown length goes upstream chunked)

  const { rawBody, body } = req as ParsedRequest;
  if (Buffer.isBuffer(body)) return { kind: 'buffer', data: body };
  if (typeof body === 'string') return { kind: 'buffer', data: Buffer.from(body) };
  // The parsed body wins over raw bytes: plugins edit req.body (the OIDC plugin removes a
  // client_secret sent as a body argument), and what they removed must not go upstream.
  const contentType = ((headers['content-type'] as string | undefined) ?? '').toLowerCase();
  if (body !== undefined && (contentType.startsWith('application/json') || /^[a-z]+\/[^;]*\+json/.test(contentType))) {
    return { kind: 'buffer', data: Buffer.from(JSON.stringify(body)) };
  }
  if (body !== null && typeof body === 'object' && contentType.startsWith('application/x-www-form-urlencoded')) {
    return { kind: 'buffer', data: Buffer.from(encodeForm(body as Record<string, unknown>)) };
  }
  if (Buffer.isBuffer(rawBody)) return { kind: 'buffer', data: rawBody };
  if (typeof rawBody === 'string') return { kind: 'buffer', data: Buffer.from(rawBody) };
  return new UnreplayableBodyError(contentType);
}

/**
 * Encodes a parsed form back: repeated keys for arrays of values (what both `querystring` and
 * `qs` read back as arrays), brackets for nested objects (`qs`'s `extended` syntax).
 */
export function encodeForm(body: Record<string, unknown>): string {
  const out: string[] = [];
  const add = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => add(item !== null && typeof item === 'object' ? `${key}[${i}]` : key, item));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) add(`${key}[${k}]`, v);
    } else {
      out.push(`${encodeURIComponent(key)}=${encodeURIComponent(value === null ? '' : String(value))}`);
    }
  };
  for (const [k, v] of Object.entries(body)) add(k, v);
  return out.join('&');
}
