/**
 * Tries through Node's own `http.request`, used when the user gives `agent` (custom TLS through an
 * `https.Agent`, an agent library for an outbound proxy): undici cannot send through a Node agent.
 *
 * Timeouts are the proxy's own, per phase, on the socket: `connectTimeout` until the connection
 * (and TLS) is up, `writeTimeout` while the request goes out, `readTimeout` after, re-armed while
 * a slow client is what holds the response back.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { AgentPool } from './agents';
import type { TargetState } from './balancer';
import type { TryEvents, UpstreamClient, UpstreamRequest, UpstreamTry } from './client';
import type { UpstreamProxyConfig } from './options';
import { ProxyTimeoutError } from './upstream-errors';

/** One try at one target through `http.request`. */
class NodeTry implements UpstreamTry {
  connected = false;
  responded = false;
  streamed = false;
  draining = false;
  done = false;
  socket: Socket | undefined = undefined;
  connectTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly events: TryEvents,
    readonly state: TargetState,
    readonly request: ClientRequest,
    private readonly upstream: UpstreamRequest,
  ) {}

  get reused(): boolean {
    return this.request.reusedSocket;
  }

  abort(): void {
    this.done = true;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.socket?.removeListener('timeout', this.onIdle);
    this.request.destroy();
  }

  drain(): void {
    this.draining = true;
  }

  /** Detaches from a connection that goes back to the pool. */
  release = (): void => {
    this.done = true;
    this.socket?.removeListener('timeout', this.onIdle);
  };

  onSocket = (socket: Socket): void => {
    if (this.done) return;
    this.socket = socket;
    if (!socket.connecting) return this.onConnect();
    this.connectTimer = setTimeout(this.onConnectTimeout, this.events.config.connectTimeout);
    socket.once(this.state.target.protocol === 'https:' ? 'secureConnect' : 'connect', this.onConnect);
  };

  onConnect = (): void => {
    if (this.done) return;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connected = true;
    const config = this.events.config;
    // Our own idle timer on the socket: ClientRequest's `timeout` fires once only, and a slow
    // client pausing the response must re-arm it rather than count as a silent upstream.
    this.socket!.setTimeout(config.writeTimeout);
    this.socket!.on('timeout', this.onIdle);
    if (config.readTimeout !== config.writeTimeout) this.request.once('finish', this.toRead);
    if (this.upstream.body.kind === 'stream') {
      this.streamed = true;
      this.upstream.req.pipe(this.request);
    }
  };

  toRead = (): void => {
    if (!this.done) this.socket?.setTimeout(this.events.config.readTimeout);
  };

  onConnectTimeout = (): void => {
    if (!this.done) this.events.failed(this, new ProxyTimeoutError('connect', this.events.config.connectTimeout));
  };

  onIdle = (): void => {
    if (this.done) return;
    if (this.draining) return this.abort();
    const { config, res } = this.events;
    if (!this.responded) {
      const phase = this.request.writableFinished ? 'read' : 'write';
      this.events.failed(this, new ProxyTimeoutError(phase, phase === 'read' ? config.readTimeout : config.writeTimeout));
    } else if ((res as { writableNeedDrain?: boolean }).writableNeedDrain === true) {
      // The client is the slow one; look again later.
      this.socket?.setTimeout(config.readTimeout);
    } else {
      this.events.brokenMidBody(this, new ProxyTimeoutError('read', config.readTimeout), 'timeout');
    }
  };

  onError = (err: Error): void => {
    if (this.done) return;
    if (this.draining) return this.abort();
    if (this.responded) this.events.brokenMidBody(this, err, 'tcp');
    else this.events.failed(this, err);
  };

  onResponse = (response: IncomingMessage): void => {
    if (this.done) {
      response.resume();
      return;
    }
    this.responded = true;
    response.once('end', this.release);
    response.on('error', noop);
    response.once('close', () => {
      if (!response.complete && !this.done) this.events.brokenMidBody(this, new Error('upstream closed the connection mid-body'), 'tcp');
    });
    this.events.respond(this, response, response);
    // Drained, not destroyed: the connection goes back to the pool (or is closed if it stalls).
    if (this.draining) response.resume();
  };
}

/** The node:http client: the user's agents, with keep-alive ones of our own for a protocol they left out. */
export class NodeClient implements UpstreamClient {
  private readonly agents: AgentPool;

  constructor(config: UpstreamProxyConfig) {
    this.agents = new AgentPool(config);
  }

  send(events: TryEvents, state: TargetState, upstream: UpstreamRequest): UpstreamTry {
    const target = state.target;
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)({
      hostname: target.hostname,
      port: target.port,
      method: upstream.method,
      path: upstream.path,
      headers: upstream.headers,
      agent: this.agents.for(target),
    });
    const attempt = new NodeTry(events, state, request, upstream);
    request.on('socket', attempt.onSocket);
    request.on('response', attempt.onResponse);
    request.on('error', attempt.onError);
    if (upstream.body.kind === 'buffer') request.end(upstream.body.data);
    else if (upstream.body.kind === 'none') request.end();
    return attempt;
  }

  close(): void {
    this.agents.destroy();
  }
}

const noop = (): void => {};
