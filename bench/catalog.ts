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

export const STACKS: Stack[] = [
  { id: 'node-http', label: 'bare node:http (ceiling)', file: 'node-http', path: '/get' },
  { id: 'express', label: 'bare Express', file: 'express', path: '/get' },
  { id: 'bearer-peer', label: 'express-oauth2-jwt-bearer', file: 'bearer-peer', path: '/get', auth: true },
  { id: 'ratelimit-peer', label: 'express-rate-limit (memory)', file: 'ratelimit-peer', path: '/get' },
  { id: 'cache-peer', label: 'apicache (hit)', file: 'cache-peer', path: '/get' },
  { id: 'proxy-hpm-default', label: 'http-proxy-middleware (defaults)', file: 'proxy-hpm', path: '/get' },
  { id: 'proxy-hpm-keepalive', label: 'http-proxy-middleware (keep-alive agent)', file: 'proxy-hpm', path: '/get', env: { KEEPALIVE: '1' } },
  { id: 'full-peer-hit', label: 'peer full stack, cache hit', file: 'full-peer', path: '/httpbin/get', auth: true },
  { id: 'full-peer-miss', label: 'peer full stack, cache miss', file: 'full-peer', path: '/httpbin/get', auth: true, distinctPaths: true },
];

export const COMPARISONS: ComparisonSpec[] = [];
