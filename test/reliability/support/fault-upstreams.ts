/**
 * Upstreams that fail in each way the proxy must survive, as real loopback servers that count the
 * connections they accepted and those still open (to see whether the gateway leaves any behind).
 */
import net from 'node:net';

/** A running faulty upstream. */
export interface FaultUpstream {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open right now. */
  readonly open: number;
  close(): Promise<void>;
}

/** How a faulty upstream treats a connection once the request head arrived. */
export type FaultKind = 'reset' | 'malformed' | 'silent' | 'reset-mid-body' | 'stall-mid-body';

const BODY_LENGTH = 1_000;
const HEAD = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${BODY_LENGTH}\r\n\r\n`;
/** The part of the body sent before the upstream fails. */
export const PARTIAL_BODY = `{"partial":"${'x'.repeat(100)}`;

const behaviours: Record<FaultKind, (socket: net.Socket) => void> = {
  // RST as soon as the request arrived: a crashed or restarting upstream.
  reset: (socket) => socket.resetAndDestroy(),
  // Bytes that are not HTTP, and the connection left open: the gateway must close it.
  malformed: (socket) => void socket.write('SSH-2.0-OpenSSH_9.6\r\nthis is not HTTP\r\n\r\n'),
  // Never answers, never closes: only the gateway's read timeout ends it.
  silent: () => {},
  // A response head and part of the body, then RST.
  'reset-mid-body': (socket) => {
    socket.write(HEAD + PARTIAL_BODY, () => setImmediate(() => socket.resetAndDestroy()));
  },
  // A response head and part of the body, then silence with the connection open.
  'stall-mid-body': (socket) => void socket.write(HEAD + PARTIAL_BODY),
};

/** Starts an upstream on 127.0.0.1 (a free port) that fails as `kind` says on every connection. */
export async function faultUpstream(kind: FaultKind): Promise<FaultUpstream> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    const onData = (data: Buffer) => {
      head += data.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.removeListener('data', onData);
      socket.resume(); // keep reading whatever else comes, never answer it
      behaviours[kind](socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (connections are refused). */
export async function refusedUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
