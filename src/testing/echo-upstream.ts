/**
 * An echo upstream in the manner of httpbin: `/get`, `/anything` (and `/anything/...`), `/status/:code`
 * and `/delay/:ms` answer as JSON what the upstream received — method, path, query, headers, body —
 * so a test or the demo can see what the gateway forwarded (the injected bearer token, the
 * X-Forwarded-* headers).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of {@link createEchoUpstream}. */
export interface EchoUpstreamOptions {
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** @defaultValue `'127.0.0.1'` */
  host?: string;
}

/** What the echo upstream answers. */
export interface EchoResponse {
  method: string;
  path: string;
  url: string;
  args: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  origin: string;
  /** The request body as text (`/anything` only). */
  data?: string;
  /** The request body parsed, when it was JSON (`/anything` only). */
  json?: unknown;
}

/** A running echo upstream. */
export interface EchoUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

/**
 * Starts an httpbin-like echo server on loopback.
 *
 * @example
 * ```ts
 * const upstream = await createEchoUpstream();
 * app.use('/httpbin', gateway(upstreamProxy({ url: upstream.url })));
 * ```
 */
export async function createEchoUpstream(options: EchoUpstreamOptions = {}): Promise<EchoUpstream> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://echo.invalid');
    const args: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = args[k];
      args[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const send = (status: number, doc: unknown) => {
      const body = JSON.stringify(doc, null, 2);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const echo = (): EchoResponse => ({
      method: req.method ?? 'GET',
      path: url.pathname,
      url: req.url ?? '/',
      args,
      headers: req.headers,
      origin: req.socket.remoteAddress ?? '',
    });
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) return send(Number(status[1]), echo());
    const delay = /^\/delay\/(\d+)$/.exec(url.pathname);
    if (delay) {
      const timer = setTimeout(() => send(200, echo()), Math.min(Number(delay[1]), 60_000));
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (url.pathname === '/get') return send(200, echo());
    if (url.pathname === '/anything' || url.pathname.startsWith('/anything/')) {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY) chunks.push(chunk);
      });
      req.on('end', () => {
        if (size > MAX_BODY) return send(413, { message: 'body too large' });
        const data = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = data ? JSON.parse(data) : undefined;
        } catch {
          json = undefined;
        }
        send(200, { ...echo(), data, ...(json === undefined ? {} : { json }) });
      });
      return;
    }
    send(404, { message: 'Not Found' });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
