/**
 * The real, certified OpenID Provider (`oidc-provider`) in-process on loopback, for integration
 * tests any suite can reuse: the client-credentials grant, JWT access tokens for one API through
 * RFC 8707 resource indicators (`resource`, not Auth0's `audience`), opaque tokens (no resource)
 * with RFC 7662 introspection, key rotation without a restart, and request counters per endpoint.
 *
 * @example
 * ```ts
 * const op = await startOidcProvider();
 * const jwt = await op.token({ resource: op.api });   // JWT access token, aud = op.api
 * const opaque = await op.token();                     // opaque, introspection only
 * await op.stop();
 * ```
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as jose from 'jose';

/** The little of oidc-provider's API used here (the package ships no types). */
interface ProviderLike {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
}
/** Runs `fn` without oidc-provider's development-mode warnings (in-memory adapter, http issuer). */
function quietly<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

// require() rather than import: oidc-provider has no type declarations; jest transforms it (ESM-only).
const Provider = quietly(() => require('oidc-provider') as { default: new (issuer: string, config: object) => ProviderLike }).default;

/** A registered client. */
export interface ProviderClient {
  clientId: string;
  clientSecret: string;
}

export interface OidcProviderFixture {
  /** The issuer identifier: `http://127.0.0.1:<port>` (no trailing slash, unlike Auth0). */
  issuer: string;
  /** The resource server JWT access tokens are issued for (their `aud`). */
  api: string;
  /** A client allowed the client-credentials grant, `client_secret_basic` or `_post`. */
  client: ProviderClient;
  /** A second client, registered with `client_secret_post` (oidc-provider accepts basic and post alike for either). */
  postClient: ProviderClient;
  /** The kid currently signing. */
  currentKid(): string;
  /** Requests per endpoint since start. */
  requests: { discovery: number; jwks: number; token: number; introspection: number };
  /** Gets a token from the real token endpoint: a JWT when `resource` is given, otherwise opaque. */
  token(options?: { resource?: string; scope?: string; client?: ProviderClient }): Promise<string>;
  /** Starts signing with a new key, keeping the previous one published; returns the new kid. */
  rotateKeys(): Promise<string>;
  stop(): Promise<void>;
}

const API = 'https://api.tollgate.test';

async function signingKey(kid: string): Promise<jose.JWK> {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

/** Starts oidc-provider on 127.0.0.1 (a free port). */
export async function startOidcProvider(): Promise<OidcProviderFixture> {
  const server = http.createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = { clientId: 'tollgate-m2m', clientSecret: 'm2m-secret-0123456789abcdef' };
  const postClient = { clientId: 'tollgate-post', clientSecret: 'post-secret-0123456789abcdef' };
  const requests = { discovery: 0, jwks: 0, token: 0, introspection: 0 };
  let keys = [await signingKey('op-key-1')];
  let generation = 1;

  const build = (): ProviderLike => quietly(() => new Provider(issuer, {
      clients: [
        { client_id: client.clientId, client_secret: client.clientSecret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'read:things write:things' },
        {
          client_id: postClient.clientId,
          client_secret: postClient.clientSecret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          scope: 'read:things',
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      scopes: ['read:things', 'write:things'],
      jwks: { keys },
      cookies: { keys: ['tollgate-test-cookie-key'] },
      ttl: { ClientCredentials: 600 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true, allowedPolicy: () => true },
        resourceIndicators: {
          enabled: true,
          // No resource requested: an opaque token, usable only through introspection.
          defaultResource: () => undefined,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== API) throw new Error('unknown resource');
            return { audience: API, accessTokenFormat: 'jwt', scope: 'read:things write:things', jwt: { sign: { alg: 'RS256' } } };
          },
        },
      },
    }));

  let handler = build().callback();
  const counterOf: Record<string, keyof typeof requests> = {
    '/.well-known/openid-configuration': 'discovery',
    '/jwks': 'jwks',
    '/token': 'token',
    '/token/introspection': 'introspection',
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const counter = counterOf[(req.url ?? '/').split('?')[0]!];
    if (counter) requests[counter]++;
    handler(req, res);
  });

  return {
    issuer,
    api: API,
    client,
    postClient,
    currentKid: () => keys[0]!.kid!,
    requests,
    async token(opts = {}) {
      const who = opts.client ?? client;
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: who.clientId, client_secret: who.clientSecret });
      if (opts.resource) form.set('resource', opts.resource);
      if (opts.scope) form.set('scope', opts.scope);
      const res = await fetch(`${issuer}/token`, { method: 'POST', body: form });
      const body = (await res.json()) as { access_token?: string; error?: string };
      if (!res.ok || !body.access_token) throw new Error(`oidc-provider token request failed: ${res.status} ${body.error}`);
      return body.access_token;
    },
    async rotateKeys() {
      generation++;
      keys = [await signingKey(`op-key-${generation}`), ...keys];
      // oidc-provider reads its keystore once; a new instance on the same server is a rotation
      // without a restart from the clients' point of view (tokens are in the shared memory adapter).
      handler = build().callback();
      return keys[0]!.kid!;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
