/**
 * A switchable loopback server in front of the test issuer's token and JWKS endpoints: it passes
 * requests through, answers an HTML error page with status 200 (an IdP behind a misconfigured
 * load balancer), or stops listening altogether (connection refused), and comes back on the same
 * port. `createTestIssuer().setOutage()` covers the other two faults (503s, and hanging).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the front does with a request. */
export type FrontMode = 'pass' | 'garbage';

const HTML = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>nginx</p></body></html>';

export class IdpFront {
  mode: FrontMode = 'pass';
  /** Requests the front received, whatever it did with them. */
  requests = 0;
  private readonly sockets = new Set<Socket>();
  private server: http.Server;
  private port = 0;

  private constructor(private readonly target: URL) {
    this.server = this.create();
  }

  /** Starts a front for the issuer at `target` (its base URL). */
  static async start(target: string): Promise<IdpFront> {
    const front = new IdpFront(new URL(target));
    await front.listen();
    return front;
  }

  /** `http://127.0.0.1:<port>/` */
  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  private create(): http.Server {
    const server = http.createServer((req, res) => {
      this.requests++;
      if (this.mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end(HTML);
      }
      const upstream = http.request(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: { ...req.headers, host: this.target.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      // The gateway gave up (timeout): stop waiting on a hanging issuer too.
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stops listening and drops every connection: new connections are refused. */
  refuse(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port, passing requests through. */
  async reopen(): Promise<void> {
    this.mode = 'pass';
    this.server = this.create();
    await this.listen();
  }

  close(): Promise<void> {
    return this.server.listening ? this.refuse() : Promise.resolve();
  }
}
