/**
 * The suite's HTTP clients: `send` (Node's own client, for well-formed requests) and `sendRaw`
 * (bytes on a TCP socket, for requests Node's client refuses to build). Both always resolve —
 * with a status, or with the transport error, or with `TIMEOUT` when nothing came back in time —
 * so outcomes can be counted, and both record error responses in the journal.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { Journal } from './journal';

/** What a request came back with. */
export interface Outcome {
  /** The status, or undefined when no complete response head arrived. */
  status: number | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Milliseconds from sending to the end of the response (or the failure). */
  ms: number;
  /** The transport failure (`ECONNRESET`, `aborted`, `TIMEOUT`, …), if any. */
  error?: string;
  /** Whether the body ended early (the connection was cut after the head). */
  truncated: boolean;
}

/** Parses the body as JSON, or undefined. */
export function json(outcome: Outcome): unknown {
  try {
    return JSON.parse(outcome.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Options of {@link send}. */
export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent | false;
  /** Milliseconds after which the request counts as hung. @defaultValue 10000 */
  timeoutMs?: number;
}

/** Sends one request with Node's http client. */
export function send(journal: Journal | undefined, url: string, options: SendOptions = {}): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: Omit<Outcome, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const outcome = { ...o, ms: Math.round(performance.now() - started) };
      journal?.response(outcome.status, { headers: outcome.headers, error: outcome.error }, outcome.body);
      resolve(outcome);
    };
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), truncated: false }));
      res.on('error', (err: NodeJS.ErrnoException) =>
        finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), truncated: true, error: err.code ?? err.message }),
      );
      res.on('close', () => {
        if (!res.complete) finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), truncated: true, error: 'aborted' });
      });
    });
    const timer = setTimeout(() => {
      finish({ status: undefined, headers: {}, body: Buffer.alloc(0), truncated: false, error: 'TIMEOUT' });
      req.destroy();
    }, options.timeoutMs ?? 10_000);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ status: undefined, headers: {}, body: Buffer.alloc(0), truncated: false, error: err.code ?? err.message }));
    req.end(options.body);
  });
}

/** Decodes a chunked body; a malformed one is returned as it is. */
function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < raw.length) {
    const eol = raw.indexOf('\r\n', at);
    if (eol === -1) return raw;
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return raw;
    if (size === 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Writes `request` (bytes, sent as they are) on a new connection and reads until the server
 * closes it. Send `Connection: close` so it does. The status is undefined when the server closed
 * without answering.
 */
export function sendRaw(journal: Journal | undefined, port: number, request: Buffer | string, timeoutMs = 10_000): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = net.connect(port, '127.0.0.1');
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const head = (split === -1 ? raw : raw.subarray(0, split)).toString('latin1');
      const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      const headers: IncomingHttpHeaders = {};
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body: Buffer = split === -1 ? Buffer.alloc(0) : raw.subarray(split + 4);
      if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) body = dechunk(body);
      const status = statusLine ? Number(statusLine[1]) : undefined;
      const outcome: Outcome = { status, headers, body, ms: Math.round(performance.now() - started), truncated: false, ...(error || !statusLine ? { error: error ?? 'closed' } : {}) };
      journal?.response(status, { headers, error: outcome.error }, body);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('TIMEOUT'), timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err: NodeJS.ErrnoException) => finish(chunks.length > 0 ? undefined : (err.code ?? err.message)));
  });
}

/** Counts outcomes by a label. */
export function tally<T>(items: T[], label: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = label(item);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The label of an outcome: its status, or its error. */
export const statusOf = (o: Outcome): string => (o.status === undefined ? (o.error ?? 'none') : o.truncated ? `${o.status}+cut` : String(o.status));
