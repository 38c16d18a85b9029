/**
 * A slow network path to a real server: a TCP forwarder on a free loopback port that holds each
 * new connection before opening the way to the target, then passes bytes both ways untouched.
 * It stands for a first connection that takes time (a TLS handshake to a managed Redis, another
 * zone, a database under load), so a test can send requests while a fresh instance is still
 * connecting. The server behind it is the real one.
 *
 * A link starts closed when `held`: connections wait until `release()`, so a test decides when a
 * fresh instance's first connection is made.
 */
import net from 'node:net';

export class SlowLink {
  private constructor(
    private readonly server: net.Server,
    /** The port to connect to instead of the target's. */
    readonly port: number,
    private readonly sockets: Set<net.Socket>,
    private readonly open: () => void,
  ) {}

  /**
   * Forwards `127.0.0.1:<port>` to `127.0.0.1:<targetPort>`; each connection waits `delayMs`, and
   * (when `held`) until {@link release}.
   */
  static async start(targetPort: number, options: { delayMs?: number; held?: boolean } = {}): Promise<SlowLink> {
    const sockets = new Set<net.Socket>();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    if (!options.held) open();
    const server = net.createServer((client) => {
      sockets.add(client);
      let upstream: net.Socket | undefined;
      client.on('error', () => {});
      client.once('close', () => {
        sockets.delete(client);
        upstream?.destroy();
      });
      const connect = () => {
        if (client.destroyed) return;
        upstream = net.connect(targetPort, '127.0.0.1');
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        upstream.once('close', () => {
          sockets.delete(upstream!);
          client.destroy();
        });
        client.pipe(upstream);
        upstream.pipe(client);
      };
      void gate.then(() => setTimeout(connect, options.delayMs ?? 0));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new SlowLink(server, (server.address() as net.AddressInfo).port, sockets, open);
  }

  /** Lets the held connections through (and every later one). */
  release(): void {
    this.open();
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    this.open();
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
