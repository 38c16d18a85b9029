/**
 * tollgate with no framework (tollgate/node as http.createServer's listener), one process per
 * configuration (STACK env): the upstream proxy alone and the full walkthrough stack.
 */
import http from 'node:http';
import type * as TollgateNode from 'tollgate/node';
import { env, listen } from '../serve';
import { bearer, limit, nodeClient, tollgate } from './tollgate-plugins';

// Typed from the sources, loaded from dist/ (see tollgate.ts).
const { gateway } = require('../../dist/adapters/node.js') as typeof TollgateNode;
const { proxyCache, upstreamProxy } = tollgate;

switch (process.env.STACK) {
  case 'proxy':
    listen(http.createServer(gateway(upstreamProxy({ url: env.upstreamUrl, ...nodeClient() }))));
    break;
  case 'full':
    listen(http.createServer(gateway(bearer(), limit('local'), proxyCache({ strategy: 'memory', cacheTtl: 300 }), upstreamProxy({ url: env.upstreamUrl }))));
    break;
  default:
    throw new Error(`unknown STACK ${process.env.STACK}`);
}
