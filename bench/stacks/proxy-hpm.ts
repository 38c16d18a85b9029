// Peer: Express + http-proxy-middleware, with its defaults or (KEEPALIVE=1) a keep-alive agent.
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { env, listen } from '../serve';

const app = express();
const agent = process.env.KEEPALIVE === '1' ? new http.Agent({ keepAlive: true, maxSockets: 64 }) : undefined;
app.use(createProxyMiddleware({ target: env.upstreamUrl, ...(agent ? { agent } : {}) }));
listen(app);
