/**
 * Real loopback servers and a raw HTTP client for the upstream-proxy tests.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A listening server that counts the connections it accepted. */
export interface Running {
  server: http.Server | net.Server;
  port: number;
  url: string;
  connections: number;
  close(): Promise<void>;
}

async function start<S extends http.Server | net.Server>(server: S): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets = new Set<net.Socket>();
  const running: Running = {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket: net.Socket) => {
    running.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return running;
}

/** An HTTP server on 127.0.0.1, port 0. */
export const listen = (handler: RequestListener): Promise<Running> => start(http.createServer(handler));

/** A TCP server whose connections get `onSocket` (to reset them, or answer garbage). */
export const listenTcp = (onSocket: (socket: net.Socket) => void): Promise<Running> => start(net.createServer(onSocket));

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = await listenTcp(() => {});
  await s.close();
  return s.port;
}

/** Reads a whole stream. */
export const readAll = (stream: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });

/** What the echo upstream saw. */
export interface Echo {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  bodySha256: string;
  bodyLength: number;
  body: string;
}

/** An upstream that answers with what it received, as JSON. */
export const echoHandler = (extra?: (res: ServerResponse) => void): RequestListener => async (req, res) => {
  const body = await readAll(req);
  const echo: Echo = {
    method: req.method!,
    url: req.url!,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    bodySha256: sha256(body),
    bodyLength: body.length,
    body: body.length < 10_000 ? body.toString('utf8') : '',
  };
  extra?.(res);
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(echo));
};

/** A raw client response. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

/** Sends one request with Node's own client (no stubs, no body handling of its own). */
export function send(
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent }, (res) => {
      readAll(res).then(
        (body) =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          }),
        reject,
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Waits until `check` holds, polling. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
