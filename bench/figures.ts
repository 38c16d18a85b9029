/**
 * Figures measured beside throughput:
 * - client-credentials token requests per 1,000 gateway requests (goal: one per client per token
 *   lifetime), counted at the issuer;
 * - RSS after 1,000,000 distinct rate-limit keys in local mode, and with the memory cache filled
 *   past its bound, each in a fresh process.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { oidc, upstreamProxy } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createEchoUpstream, createTestIssuer } from 'tollgate/testing';
import type { Figure } from './report';

async function tokenRequestsPer1000(): Promise<Figure> {
  const clients = ['a', 'b', 'c'].map((id) => ({ clientId: `bench-${id}`, clientSecret: `secret-${id}`, audience: 'https://bench' }));
  const idp = await createTestIssuer({ clients });
  const upstream = await createEchoUpstream();
  const app = express();
  app.use('/httpbin', gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, authMethods: ['client_credentials'], tokenPostArgs: { audience: 'https://bench' } }), upstreamProxy({ url: upstream.url })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let ok = 0;
  // 1,000 requests, 50 at a time, spread over three clients: the first burst of each client races.
  for (let batch = 0; batch < 20; batch++) {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const c = clients[(batch * 50 + i) % clients.length]!;
        return fetch(`${base}/httpbin/get`, { headers: { authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}` } }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        });
      }),
    );
    ok += results.filter((s) => s === 200).length;
  }
  const tokens = idp.requests.token;
  server.close();
  await Promise.all([idp.close(), upstream.close()]);
  return {
    name: 'client-credentials token requests per 1,000 gateway requests (3 clients, 50 concurrent)',
    value: `${tokens} (${ok}/1000 answered 200)`,
    goal: '3: one per client per token lifetime',
    met: tokens === clients.length && ok === 1000,
  };
}

function memory(args: string[]): Record<string, number> {
  const out = execFileSync(process.execPath, ['--expose-gc', join(__dirname, '../node_modules/tsx/dist/cli.mjs'), join(__dirname, 'memory.ts'), ...args], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

export async function extraFigures(): Promise<Figure[]> {
  const figures: Figure[] = [await tokenRequestsPer1000()];
  const bounded = memory(['ratelimit', '100000']);
  const unbounded = memory(['ratelimit', '1000000']);
  figures.push({
    name: 'RSS after 1,000,000 distinct rate-limit keys, local mode, default maxKeys (100,000)',
    value: `${bounded.rssAfterMB} MB (from ${bounded.rssBeforeMB} MB; heap +${bounded.heapGrowthMB} MB)`,
  });
  figures.push({
    name: 'RSS after 1,000,000 distinct rate-limit keys, local mode, maxKeys 1,000,000 (all kept)',
    value: `${unbounded.rssAfterMB} MB (from ${unbounded.rssBeforeMB} MB; heap +${unbounded.heapGrowthMB} MB)`,
  });
  const cache = memory(['cache']);
  figures.push({
    name: `RSS with the memory cache at its bound (${cache.maxBytesMB} MB, ${cache.bytesWrittenMB} MB of bodies written)`,
    value: `${cache.rssAfterMB} MB (from ${cache.rssBeforeMB} MB; external ${cache.externalMB} MB)`,
  });
  return figures;
}
