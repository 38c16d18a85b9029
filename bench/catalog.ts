/** The stacks the harness measures and the tollgate/peer pairs it compares. */

export interface Stack {
  id: string;
  label: string;
  /** File under bench/stacks/, without .ts. */
  file: string;
  /** Path requested. */
  path: string;
  /** Send the RS256 bearer token. */
  auth?: boolean;
  /** A distinct query string on every request (the cache-miss path). */
  distinctPaths?: boolean;
  env?: Record<string, string>;
}

export interface ComparisonSpec {
  name: string;
  ours: string;
  peer: string;
  /** The ratio the issue asks for, ours / peer. */
  goal: number;
}

const ours = (id: string, label: string, stack: string, extra: Partial<Stack> = {}): Stack => ({ id, label, file: 'tollgate', path: '/get', env: { STACK: stack }, ...extra });
/** A tollgate stack on another host: tollgate/node or tollgate/fastify. */
const on = (host: 'node' | 'fastify') => (id: string, label: string, stack: string, extra: Partial<Stack> = {}): Stack => ({ ...ours(id, label, stack, extra), file: `tollgate-${host}` });
const onNode = on('node');
const onFastify = on('fastify');

export const STACKS: Stack[] = [
  { id: 'node-http', label: 'bare node:http (ceiling)', file: 'node-http', path: '/get' },
  { id: 'express', label: 'bare Express', file: 'express', path: '/get' },
  ours('bearer', 'tollgate oidc (bearer)', 'bearer', { auth: true }),
  { id: 'bearer-peer', label: 'express-oauth2-jwt-bearer', file: 'bearer-peer', path: '/get', auth: true },
  ours('ratelimit', 'tollgate rateLimit (local)', 'ratelimit-local'),
  { id: 'ratelimit-peer', label: 'express-rate-limit (memory)', file: 'ratelimit-peer', path: '/get' },
  ours('ratelimit-redis', 'tollgate rateLimit (redis)', 'ratelimit-redis'),
  { id: 'ratelimit-redis-cluster', label: 'tollgate rateLimit (Redis Cluster, 3 masters)', file: 'tollgate-shared', path: '/get', env: { STACK: 'redis-cluster' } },
  { id: 'ratelimit-pg', label: 'tollgate rateLimit (cluster policy, PostgreSQL)', file: 'tollgate-shared', path: '/get', env: { STACK: 'pg' } },
  ours('cache', 'tollgate proxyCache (memory hit)', 'cache'),
  { id: 'cache-peer', label: 'apicache (hit)', file: 'cache-peer', path: '/get' },
  ours('proxy', 'tollgate upstreamProxy', 'proxy'),
  { id: 'proxy-hpm-default', label: 'http-proxy-middleware (defaults)', file: 'proxy-hpm', path: '/get' },
  { id: 'proxy-hpm-keepalive', label: 'http-proxy-middleware (keep-alive agent)', file: 'proxy-hpm', path: '/get', env: { KEEPALIVE: '1' } },
  ours('full-hit', 'tollgate full stack, cache hit', 'full', { path: '/httpbin/get', auth: true }),
  { id: 'full-peer-hit', label: 'peer full stack, cache hit', file: 'full-peer', path: '/httpbin/get', auth: true },
  ours('full-miss', 'tollgate full stack, cache miss', 'full', { path: '/httpbin/get', auth: true, distinctPaths: true }),
  ours('full-hit-prometheus', 'tollgate full stack + prometheus, cache hit', 'full-prometheus', { path: '/httpbin/get', auth: true }),
  { id: 'full-peer-miss', label: 'peer full stack, cache miss', file: 'full-peer', path: '/httpbin/get', auth: true, distinctPaths: true },
  // Hosts that cost less than Express: tollgate/node (no framework) and tollgate/fastify.
  onNode('node-full-hit', 'node host: full stack, cache hit', 'full', { path: '/httpbin/get', auth: true }),
  onNode('node-full-miss', 'node host: full stack, cache miss', 'full', { path: '/httpbin/get', auth: true, distinctPaths: true }),
  onNode('node-proxy', 'node host: upstreamProxy', 'proxy'),
  // The same two proxy stacks with node:http as the upstream client (what an own `agent` selects).
  ours('proxy-node-client', 'tollgate upstreamProxy, node:http client', 'proxy', { env: { STACK: 'proxy', NODE_CLIENT: '1' } }),
  onNode('node-proxy-node-client', 'node host: upstreamProxy, node:http client', 'proxy', { env: { STACK: 'proxy', NODE_CLIENT: '1' } }),
  { id: 'fastify', label: 'bare Fastify', file: 'fastify', path: '/get' },
  onFastify('fastify-full-hit', 'Fastify host: full stack, cache hit', 'full', { path: '/httpbin/get', auth: true }),
  onFastify('fastify-full-miss', 'Fastify host: full stack, cache miss', 'full', { path: '/httpbin/get', auth: true, distinctPaths: true }),
  onFastify('fastify-proxy', 'Fastify host: upstreamProxy', 'proxy'),
  { id: 'fastify-proxy-peer', label: '@fastify/http-proxy', file: 'fastify-proxy-peer', path: '/get' },
  onFastify('fastify-ratelimit', 'Fastify host: rateLimit (local)', 'ratelimit-local'),
  { id: 'fastify-ratelimit-peer', label: '@fastify/rate-limit (memory)', file: 'fastify-ratelimit-peer', path: '/get' },
];

export const COMPARISONS: ComparisonSpec[] = [
  { name: 'bearer: oidc / express-oauth2-jwt-bearer', ours: 'bearer', peer: 'bearer-peer', goal: 1.5 },
  { name: 'rate limit: local / express-rate-limit', ours: 'ratelimit', peer: 'ratelimit-peer', goal: 1 },
  { name: 'cache hit: proxyCache / apicache', ours: 'cache', peer: 'cache-peer', goal: 1 },
  { name: 'proxy: upstreamProxy / hpm defaults', ours: 'proxy', peer: 'proxy-hpm-default', goal: 1.5 },
  { name: 'proxy: upstreamProxy / hpm keep-alive', ours: 'proxy', peer: 'proxy-hpm-keepalive', goal: 0.9 },
  { name: 'full stack hit / peer stack hit', ours: 'full-hit', peer: 'full-peer-hit', goal: 2 },
  { name: 'full stack hit / bare Express', ours: 'full-hit', peer: 'express', goal: 0.75 },
  { name: 'full stack miss / peer stack miss', ours: 'full-miss', peer: 'full-peer-miss', goal: 1.3 },
  // Issue 19's goals for the hosts that cost less than Express.
  { name: 'node host full stack hit / bare node:http', ours: 'node-full-hit', peer: 'node-http', goal: 0.5 },
  { name: 'node host full stack hit / peer stack hit', ours: 'node-full-hit', peer: 'full-peer-hit', goal: 5 },
  { name: 'Fastify host full stack hit / bare Fastify', ours: 'fastify-full-hit', peer: 'fastify', goal: 0.5 },
  { name: 'node host upstreamProxy / @fastify/http-proxy', ours: 'node-proxy', peer: 'fastify-proxy-peer', goal: 1 },
  { name: 'node host upstreamProxy / hpm keep-alive', ours: 'node-proxy', peer: 'proxy-hpm-keepalive', goal: 1.5 },
  { name: 'node host full stack miss / peer stack miss', ours: 'node-full-miss', peer: 'full-peer-miss', goal: 2 },
  { name: 'Fastify host upstreamProxy / @fastify/http-proxy', ours: 'fastify-proxy', peer: 'fastify-proxy-peer', goal: 1 },
  { name: 'rate limit on Fastify: rateLimit / @fastify/rate-limit', ours: 'fastify-ratelimit', peer: 'fastify-ratelimit-peer', goal: 1 },
  // Which upstream client: undici (the default) against node:http, on the same stack.
  { name: 'upstream client on Express: undici / node:http', ours: 'proxy', peer: 'proxy-node-client', goal: 1 },
  { name: 'upstream client on the node host: undici / node:http', ours: 'node-proxy', peer: 'node-proxy-node-client', goal: 1 },
  { name: 'full stack hit + prometheus / without', ours: 'full-hit-prometheus', peer: 'full-hit', goal: 0.9 },
];

/**
 * The Express stacks whose figures must not fall behind the previous run's (issue 19): compared
 * with the figures docs/benchmarks.md held before this run, each relative to bare Express in its
 * own run, so a faster or slower machine moves both sides alike.
 */
export const REGRESSION_WATCH: { ids: string[]; baseline: string; goal: number } = {
  ids: ['bearer', 'ratelimit', 'ratelimit-redis', 'cache', 'proxy', 'full-hit', 'full-miss'],
  baseline: 'express',
  goal: 0.95,
};
