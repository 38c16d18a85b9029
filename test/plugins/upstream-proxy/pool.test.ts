import type { AddressInfo } from 'node:net';
import http, { type Server } from 'node:http';
import express from 'express';
import { upstreamProxy, type UpstreamProxyOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { listen, send, type Running } from './servers';

/** Sends `total` requests through the gateway, `concurrency` at a time, over keep-alive client connections. */
async function load(url: string, total: number, concurrency: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      statuses.push((await send(url, { agent })).status);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return statuses;
}

describe('upstreamProxy connection pool', () => {
  let upstream: Running;
  beforeEach(async () => {
    upstream = await listen((_req, res) => res.end('ok'));
  });
  afterEach(() => upstream.close());

  async function run(options: Partial<UpstreamProxyOptions>, total: number) {
    const plugin = upstreamProxy({ url: upstream.url, ...options });
    const app = express();
    app.use('/api', gateway(plugin));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      return await load(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/x`, total, 20);
    } finally {
      plugin.close();
      await new Promise((r) => server.close(r));
    }
  }

  it('reuses a handful of upstream connections for 400 requests sent 20 at a time', async () => {
    const statuses = await run({}, 400);
    expect(statuses).toHaveLength(400);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // At most one connection per concurrent request, never one per request.
    expect(upstream.connections).toBeLessThanOrEqual(20);
  });

  it('opens a connection per request with keepalive: false (what the pool avoids)', async () => {
    const statuses = await run({ keepalive: false }, 100);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(upstream.connections).toBe(100);
  });
});
