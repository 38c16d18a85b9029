/**
 * The tollgate plugins every tollgate stack is built from, loaded from the compiled package (npm
 * run bench builds it first): sources run through tsx carry its transform's helpers (a __name call
 * per closure) that no user pays.
 */
import http from 'node:http';
import type * as Tollgate from 'tollgate';
import { env } from '../serve';

// Typed from the sources, loaded from dist/ (so type-checking needs no build).
export const tollgate = require('../../dist/index.js') as typeof Tollgate;

export const bearer = () => tollgate.oidc({ issuer: env.issuerUrl, audience: env.audience, allowInsecureIssuer: true });
export const limit = (policy: 'local' | 'redis') =>
  tollgate.rateLimit({ minute: 1_000_000_000, policy, ...(policy === 'redis' ? { redis: { url: 'redis://127.0.0.1:6379' }, namespace: `bench-${process.pid}` } : {}) });

/**
 * With NODE_CLIENT=1, upstreamProxy sends through node:http instead of undici: given an agent of
 * one's own (here with the options of upstreamProxy's default pool), it uses Node's client.
 */
export const nodeClient = (): { agent?: { http: http.Agent } } =>
  process.env.NODE_CLIENT === '1' ? { agent: { http: new http.Agent({ keepAlive: true, maxFreeSockets: 256, timeout: 60_000, scheduling: 'lifo' }) } } : {};
