// Peer: the walkthrough stack built from the four libraries users know —
// express-oauth2-jwt-bearer + express-rate-limit + apicache + http-proxy-middleware (keep-alive).
import http from 'node:http';
import express from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import { rateLimit } from 'express-rate-limit';
import { createProxyMiddleware } from 'http-proxy-middleware';
const apicache = require('apicache') as { middleware: (duration: string) => express.RequestHandler };
import { env, listen } from '../serve';

const app = express();
app.use(
  '/httpbin',
  auth({ issuerBaseURL: env.issuerUrl, audience: env.audience }),
  rateLimit({ windowMs: 60_000, limit: 1_000_000_000, standardHeaders: 'draft-6', legacyHeaders: true, validate: false }),
  apicache.middleware('5 minutes'),
  createProxyMiddleware({ target: env.upstreamUrl, agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) }),
);
listen(app);
