/**
 * The real `oidc-provider` on loopback with RFC 7591 registration and the client-credentials grant
 * enabled, issuing JWT access tokens for one API (resource indicators), for the registrar tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

/** The little of oidc-provider's API these tests use (the package ships no types). */
export interface ProviderLike {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  Client: { find(id: string): Promise<{ metadata(): Record<string, unknown> } | undefined> };
}
/** Runs `fn` without oidc-provider's start-up warnings (Node 20 runtime, in-memory adapter): they are expected here. */
function quietly<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider ')) warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}
// require() rather than import: no type declarations exist for oidc-provider; jest transforms it.
const Provider = quietly(() => (require('oidc-provider') as { default: new (issuer: string, config: object) => ProviderLike }).default);

/** The API every client-credentials token is issued for. */
export const API = 'https://api.example.test';

export interface RegistrationProvider {
  provider: ProviderLike;
  issuer: string;
  stop(): Promise<void>;
}

export async function startRegistrationProvider(opts: { initialAccessToken?: string; registration?: boolean } = {}): Promise<RegistrationProvider> {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = quietly(() => new Provider(issuer, {
    scopes: ['openid', 'read:things', 'write:things'],
    jwks: { keys: [{ ...jwk, kid: 'registration-test', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['registration-test-cookie-key'] },
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: opts.registration ?? true, ...(opts.initialAccessToken ? { initialAccessToken: opts.initialAccessToken } : {}) },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ audience: API, accessTokenFormat: 'jwt', scope: 'read:things write:things' }),
      },
    },
  }));
  server.on('request', provider.callback());
  return {
    provider,
    issuer,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
