/**
 * What the exchange (targets, retries, health, backend auth, client aborts) asks of an HTTP client,
 * so that policy is written once whichever client sends the bytes: undici by default
 * (undici-client.ts), Node's own `http.request` when the user gives `agent` (node-client.ts).
 */
import type { Readable } from 'node:stream';
import type { NodeRequest, NodeResponse } from '../../core/context';
import type { TargetState } from './balancer';
import type { UpstreamProxyConfig } from './options';
import type { BodyPlan } from './request-body';
import type { UpstreamHead } from './response';

/** One upstream request as the exchange decided it. */
export interface UpstreamRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** A flat `[name, value, …]` list (forwarded-headers.ts). */
  readonly headers: string[];
  readonly body: BodyPlan;
  /** The client's request, whose stream is the body when `body.kind` is `stream`. */
  readonly req: NodeRequest;
}

/** How one try reports back to the exchange. */
export interface TryEvents {
  readonly config: UpstreamProxyConfig;
  /** The client's response (a slow client reading it is not upstream silence). */
  readonly res: NodeResponse;
  /** Failed before the response head: another try, or the error for the client. */
  failed(attempt: UpstreamTry, err: unknown): void;
  /** The head is in; `body` streams the rest. */
  respond(attempt: UpstreamTry, head: UpstreamHead, body: Readable): void;
  /** Failed after the head: the client can only see the connection cut. */
  brokenMidBody(attempt: UpstreamTry, err: unknown, outcome: 'tcp' | 'timeout'): void;
}

/** One try at one target. */
export interface UpstreamTry {
  readonly state: TargetState;
  /** Whether the connection to the target was established (the request went out on it). */
  readonly connected: boolean;
  /** Whether the connection came from the pool (a reset there is a stale socket, not a sick target). */
  readonly reused: boolean;
  /** Whether the client's body stream started flowing into this try (it cannot be sent again). */
  readonly streamed: boolean;
  /** Whether this try is over (answered, failed or aborted). */
  readonly done: boolean;
  /** Ends this try and closes its connection (one with a request in flight cannot be reused). */
  abort(): void;
  /** Reads the rest of the response without forwarding it: the connection goes back to the pool. */
  drain(): void;
}

/** Sends tries; one per plugin instance, owning its pooled connections. */
export interface UpstreamClient {
  send(events: TryEvents, state: TargetState, request: UpstreamRequest): UpstreamTry;
  /** Closes the pooled connections it opened. */
  close(): void;
}

/** The client refused the request the plugins built (a header value with a newline, say): a 500, not the upstream's fault. */
export class InvalidUpstreamRequest extends Error {
  constructor(cause: unknown) {
    super('the upstream request could not be built', { cause });
    this.name = 'InvalidUpstreamRequest';
  }
}
