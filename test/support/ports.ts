import net from 'node:net';

/**
 * A loopback TCP port nothing listens on right now (it was free a moment ago): where a test starts
 * a throwaway server, or points a client at a dead address.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
