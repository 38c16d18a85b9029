/**
 * Unreachable identity providers for timeout tests: a port nothing listens on, and a black hole
 * that accepts connections and never answers.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** A loopback port that refuses connections (it was free a moment ago). */
export { freePort as deadPort } from '../support/ports';

/** A server that accepts every connection, reads, and never writes a byte. */
export async function blackHole(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
