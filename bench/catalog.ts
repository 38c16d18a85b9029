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
  { id: 'full-peer-miss', label: 'peer full stack, cache miss', file: 'full-peer', path: '/httpbin/get', auth: true, distinctPaths: true },
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
];
