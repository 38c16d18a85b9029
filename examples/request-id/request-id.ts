/**
 * A small real plugin: gives every request an id, passes it to whatever handles the request,
 * echoes it on the response and puts it in tollgate's JSON error bodies (`request_id`).
 *
 * docs/writing-a-plugin.md walks through this file.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError, definePlugin } from 'tollgate';

declare module 'tollgate' {
  interface SharedState {
    /** When the request entered the gateway, set by the request-id plugin. */
    receivedAt: number;
  }
}

/** Options of {@link requestId}. */
export interface RequestIdOptions {
  /** The header that carries the id. @defaultValue `'X-Request-Id'` */
  headerName?: string;
  /** Keep an id the client sent, when it looks like one (letters, digits, `-`, `_`, up to 64). @defaultValue true */
  trustIncoming?: boolean;
}

const WELL_FORMED = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Gives every request an id (Kong's correlation-id plugin, in a dozen lines).
 *
 * @example
 * ```ts
 * app.use(gateway(requestId(), rateLimit({ minute: 5 })));
 * ```
 */
export function requestId(options: RequestIdOptions = {}) {
  const headerName = options.headerName ?? 'X-Request-Id';
  const trustIncoming = options.trustIncoming ?? true;
  // Validate once, at construction: a bad option is a developer's mistake, not a request's.
  if (!/^[A-Za-z0-9-]+$/.test(headerName)) {
    throw new ConfigError(`requestId: "headerName" must be an HTTP header name, got ${JSON.stringify(headerName)}`, 'headerName');
  }
  return definePlugin({
    name: 'request-id',
    // Kong's correlation-id runs early (priority 100001) so every later plugin sees the id.
    priority: 100_001,
    config: { headerName, trustIncoming },
    access(ctx) {
      const incoming = ctx.request.header(headerName);
      ctx.requestId = trustIncoming && incoming && WELL_FORMED.test(incoming) ? incoming : randomUUID();
      ctx.shared.receivedAt = Date.now();
      ctx.request.setHeader(headerName, ctx.requestId);
    },
    headerFilter(ctx) {
      if (ctx.requestId) ctx.response.setHeader(headerName, ctx.requestId);
    },
  });
}
