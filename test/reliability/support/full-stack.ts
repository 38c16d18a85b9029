/**
 * The full walkthrough stack as a child process (children/full-stack-gateway.ts) with its issuer
 * and upstream in the test process: createTestIssuer with one machine client, createEchoUpstream.
 */
import { randomBytes } from 'node:crypto';
import { createEchoUpstream, createTestIssuer, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { GatewayChild } from './child';
import type { Outcome } from './client';
import type { Journal } from './journal';

export const AUDIENCE = 'https://api.reliability.test';

/** A running stack. */
export interface FullStack {
  readonly idp: TestIssuer;
  readonly echo: EchoUpstream;
  readonly gateway: GatewayChild;
  /** The registered machine client: id, secret, and its `Authorization: Basic …` value. */
  readonly client: { id: string; secret: string; basic: string };
  /** A valid bearer token (`Bearer …`), recorded in the journal as a token. */
  bearer(claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Options passed through to the child (see FullStackConfig there). */
export interface FullStackOptions {
  apiLimit?: number;
  tightLimit?: number;
  paramTypes?: ('header' | 'query' | 'body')[];
  redis?: { url: string; prefix: string };
  cacheTtl?: number;
  cacheMaxBytes?: number;
}

export async function startFullStack(journal: Journal, options: FullStackOptions = {}): Promise<FullStack> {
  const id = `machine-${randomBytes(3).toString('hex')}`;
  const secret = randomBytes(24).toString('base64url');
  const basic = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  journal.secret(secret, basic.slice(6));
  const idp = await createTestIssuer({ clients: [{ clientId: id, clientSecret: secret }], tokenLifetime: 3_600 });
  const echo = await createEchoUpstream();
  const gateway = await GatewayChild.start(journal, 'full-stack-gateway', {
    issuer: idp.issuer,
    audience: AUDIENCE,
    upstreamUrl: echo.url,
    apiLimit: options.apiLimit ?? 1_000_000,
    tightLimit: options.tightLimit ?? 1_000_000,
    cacheTtl: options.cacheTtl ?? 30,
    cacheMaxBytes: options.cacheMaxBytes ?? 8 * 1024 * 1024,
    ...(options.paramTypes ? { paramTypes: options.paramTypes } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
  });
  return {
    idp,
    echo,
    gateway,
    client: { id, secret, basic },
    async bearer(claims = {}) {
      const token = await idp.sign({ sub: 'user-1', aud: AUDIENCE, azp: 'spa-1', ...claims });
      journal.token(token);
      return `Bearer ${token}`;
    },
    async close() {
      await gateway.stop();
      await Promise.all([echo.close(), idp.close()]);
    },
  };
}

/** Builds a raw HTTP/1.1 request (bytes as given) that asks the server to close afterwards. */
export function rawRequest(method: string, target: string | Buffer, headers: [string, string | Buffer][] = [], body?: Buffer | string): Buffer {
  const parts: Buffer[] = [Buffer.from(`${method} `), Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'), Buffer.from(' HTTP/1.1\r\nHost: gateway.test\r\n')];
  for (const [name, value] of headers) parts.push(Buffer.from(`${name}: `), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n'));
  if (body !== undefined) parts.push(Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
  parts.push(Buffer.from('Connection: close\r\n\r\n'));
  if (body !== undefined) parts.push(Buffer.isBuffer(body) ? body : Buffer.from(body));
  return Buffer.concat(parts);
}

/**
 * Who answered: `tollgate <status>` (a JSON error body the SDK rendered), `upstream <status>` (a
 * proxied answer, `Via: 1.1 tollgate`), `framework <status>` (Node's HTTP parser refused the
 * request before any middleware ran, or Express's final handler answered), or the transport outcome.
 */
export function answeredBy(o: Outcome): string {
  if (o.status === undefined) return o.error ?? 'none';
  if (String(o.headers.via ?? '').includes('tollgate')) return `upstream ${o.status}`;
  if (String(o.headers['content-type'] ?? '').startsWith('application/json')) return `tollgate ${o.status}`;
  return `framework ${o.status}`;
}
