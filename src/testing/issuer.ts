/**
 * `createTestIssuer()`: a loopback identity provider shaped like Auth0, so policies can be tested
 * without a tenant. It serves discovery, a JWKS, `/oauth/token` (client credentials with
 * `audience`, Auth0's machine-to-machine claims; end-user login's authorization code and refresh
 * token grants), RFC 7662 introspection, and end-user login (issuer-login.ts: `/authorize` with a
 * login and consent page, revocation, end-session), rotates keys on demand, mints tokens for
 * tests and counts the requests each endpoint received.
 *
 * Written on node:http rather than oidc-provider: Auth0's token endpoint takes `audience` (not
 * RFC 8707 `resource`), puts a trailing slash on `iss` and adds `azp`/`gty`, which is what users
 * must test against; it also has to start in milliseconds and be able to fail on purpose.
 *
 * @see https://auth0.com/docs/get-started/authentication-and-authorization-flow/client-credentials-flow
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { JWTPayload } from 'jose';
import { KeyRing, opaqueToken, type SignOptions, type TestIssuerAlgorithm } from './issuer-keys';
import { checkClientAuth, readForm, type TestClient } from './issuer-clients';
import { LoginEndpoints, type TestAuthorizeOptions, type TestUser } from './issuer-login';

export type { SignOptions, TestIssuerAlgorithm } from './issuer-keys';
export type { TestClient } from './issuer-clients';
export type { TestUser, TestAuthorizeOptions } from './issuer-login';

/** How the test issuer is set up; everything has a default. */
export interface TestIssuerOptions {
  /** Clients allowed at `/oauth/token` (more can be added with `addClient`). @defaultValue none */
  clients?: TestClient[];
  /** The audience used when a token request has none (Auth0's tenant "default audience"). @defaultValue none: such requests get 403 */
  defaultAudience?: string;
  /** Lifetime of tokens from `/oauth/token`, in seconds (Auth0's API default). @defaultValue 86400 */
  tokenLifetime?: number;
  /** Signing algorithm. @defaultValue `'RS256'` */
  alg?: TestIssuerAlgorithm;
  /** An `Authorization` header value the introspection endpoint accepts besides registered clients. */
  introspectionAuthorization?: string;
  /** Users who can sign in at `/authorize` (more can be added with `addUser`). @defaultValue none */
  users?: TestUser[];
  /** Whether a refresh replaces the refresh token (Auth0's "Refresh Token Rotation"). @defaultValue false (Auth0's default) */
  refreshTokenRotation?: boolean;
  /** Whether discovery lists `end_session_endpoint` (an Auth0 tenant with RP-initiated logout on); `/v2/logout` is served either way. @defaultValue true */
  endSessionEndpoint?: boolean;
}

/** Requests each endpoint received since the start or the last `resetCounters()`. */
export interface TestIssuerCounters {
  discovery: number;
  jwks: number;
  /** Every `/oauth/token` request, whatever its grant. */
  token: number;
  introspection: number;
  /** `GET /authorize`: login pages shown. */
  authorization: number;
  /** `refresh_token` grants among `token`. */
  refresh: number;
  revocation: number;
  /** `/oidc/logout` and `/v2/logout`. */
  endSession: number;
}

/** How the issuer misbehaves: `error` answers 503 everywhere, `hang` accepts requests and never answers. */
export type TestIssuerOutage = 'none' | 'error' | 'hang';

/** A running loopback issuer. */
export interface TestIssuer {
  /** The issuer identifier, Auth0-style with a trailing slash: `http://127.0.0.1:<port>/`. */
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly authorizationEndpoint: string;
  /** `/oidc/logout`, listed in discovery unless `endSessionEndpoint: false`. */
  readonly endSessionEndpoint: string;
  /** Live request counters per endpoint. */
  readonly requests: Readonly<TestIssuerCounters>;
  /** The kid new tokens are signed with. */
  readonly currentKid: string;
  /** Registers (or replaces) a client. */
  addClient(client: TestClient): void;
  /** Registers (or replaces) a user who can sign in. */
  addUser(user: TestUser): void;
  /**
   * Signs a user in through the login page over HTTP, as a browser would (the page, then its form),
   * and resolves with the callback URL the issuer redirects to (`…?code=…&state=…`, or `error=access_denied`).
   */
  authorize(authorizationUrl: string, options?: TestAuthorizeOptions): Promise<string>;
  /** Signs a token with the issuer's key. `iss`, `iat` and `exp` are added unless given; a claim set to `undefined` is left out. */
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  /** Mints the token `/oauth/token` would give this client, without a request. */
  clientToken(clientId: string, options?: { audience?: string; scope?: string }): Promise<string>;
  /** An opaque token only introspection can read (`active` until its `exp`). */
  opaqueToken(claims?: JWTPayload): string;
  /** Publishes and starts signing with a new key; previous keys stay published unless `dropPrevious`. Returns the new kid. */
  rotateKeys(options?: { dropPrevious?: boolean }): Promise<string>;
  /** The published JSON Web Key Set. */
  jwks(): { keys: object[] };
  /** Makes every endpoint fail (`error`) or hang (`hang`) until set back to `none`. */
  setOutage(mode: TestIssuerOutage): void;
  resetCounters(): void;
  /** Stops the server and drops every open connection. */
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
};

const now = () => Math.floor(Date.now() / 1000);

/**
 * Starts a loopback issuer shaped like Auth0 on 127.0.0.1 (a free port).
 *
 * @example
 * ```ts
 * const idp = await createTestIssuer({ clients: [{ clientId: 'abc', clientSecret: 's3cret', scope: 'read:orders' }] });
 * app.use(gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: 'https://api' })));
 * const token = await idp.clientToken('abc', { audience: 'https://api' });
 * await request(app).get('/').set('authorization', `Bearer ${token}`).expect(200);
 * await idp.close();
 * ```
 * @see https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles — the claims minted
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const ring = await KeyRing.create(options.alg ?? 'RS256');
  const clients = new Map<string, TestClient>();
  for (const c of options.clients ?? []) clients.set(c.clientId, c);
  const opaque = new Map<string, JWTPayload>();
  const counters: TestIssuerCounters = { discovery: 0, jwks: 0, token: 0, introspection: 0, authorization: 0, refresh: 0, revocation: 0, endSession: 0 };
  const users = new Map<string, TestUser>();
  for (const u of options.users ?? []) users.set(u.username, u);
  const sockets = new Set<Socket>();
  let outage: TestIssuerOutage = 'none';
  let base = '';

  const withDefaults = (claims: JWTPayload, expiresIn: number): JWTPayload => {
    const iat = now();
    const out: JWTPayload = { iss: base, iat, exp: iat + expiresIn, ...claims };
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  };

  const m2mClaims = (client: TestClient, audience: string): JWTPayload => ({
    sub: `${client.clientId}@clients`,
    aud: audience,
    azp: client.clientId,
    gty: 'client-credentials',
    ...(client.scope ? { scope: client.scope } : {}),
    ...client.claims,
  });

  const lifetime = options.tokenLifetime ?? 86_400;
  const login = new LoginEndpoints({
    base: () => base,
    ring,
    clients,
    users,
    tokenLifetime: lifetime,
    refreshTokenRotation: options.refreshTokenRotation ?? false,
    registerOpaque: (token, claims) => void opaque.set(token, claims),
  });
  const mint = async (client: TestClient, audience: string): Promise<string> => {
    const claims = withDefaults(m2mClaims(client, audience), lifetime);
    if (client.tokenFormat === 'opaque') {
      const token = opaqueToken();
      opaque.set(token, { ...claims, client_id: client.clientId });
      return token;
    }
    return ring.sign(claims);
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    'GET /.well-known/openid-configuration': async (_req, res) => {
      json(res, 200, {
        issuer: base,
        authorization_endpoint: `${base}authorize`,
        token_endpoint: `${base}oauth/token`,
        introspection_endpoint: `${base}oauth/introspect`,
        jwks_uri: `${base}.well-known/jwks.json`,
        revocation_endpoint: `${base}oauth/revoke`,
        ...(options.endSessionEndpoint === false ? {} : { end_session_endpoint: `${base}oidc/logout` }),
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        subject_types_supported: ['public'],
        grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
        id_token_signing_alg_values_supported: [options.alg ?? 'RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
    },
    'GET /.well-known/jwks.json': async (_req, res) => json(res, 200, ring.jwks()),
    'POST /oauth/token': async (req, res) => {
      const form = await readForm(req);
      const auth = checkClientAuth(req, form, clients);
      if (auth.client === undefined) return json(res, auth.status, { error: auth.error, error_description: auth.description });
      const client = auth.client;
      const grantType = form.get('grant_type');
      if (grantType === 'authorization_code' || grantType === 'refresh_token') {
        if (grantType === 'refresh_token') counters.refresh++;
        const out = grantType === 'authorization_code' ? await login.codeGrant(client, form) : await login.refreshGrant(client, form);
        return json(res, out.status, out.body);
      }
      if (grantType !== 'client_credentials') {
        return json(res, 400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
      }
      const audience = form.get('audience') ?? options.defaultAudience;
      if (!audience) {
        return json(res, 403, { error: 'access_denied', error_description: 'No audience parameter was provided, and no default audience has been configured' });
      }
      const allowed = client.audience === undefined ? undefined : ([] as string[]).concat(client.audience);
      if (allowed && !allowed.includes(audience)) {
        return json(res, 403, { error: 'access_denied', error_description: `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API.` });
      }
      const token = await mint(client, audience);
      json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetime, ...(client.scope ? { scope: client.scope } : {}) });
    },
    'POST /oauth/introspect': async (req, res) => {
      const form = await readForm(req);
      const presetOk = options.introspectionAuthorization !== undefined && req.headers.authorization === options.introspectionAuthorization;
      if (!presetOk) {
        const auth = checkClientAuth(req, form, clients);
        if (auth.client === undefined) return json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
      }
      const token = form.get('token') ?? '';
      const claims = opaque.get(token) ?? (token.includes('.') ? await ring.verify(token, base) : undefined);
      const active = claims !== undefined && (typeof claims.exp !== 'number' || claims.exp > now());
      json(res, 200, active ? { active: true, token_type: 'Bearer', ...claims } : { active: false });
    },
    'GET /authorize': (req, res) => login.authorizePage(req, res),
    'POST /authorize': (req, res) => login.authorizeSubmit(req, res),
    'POST /oauth/revoke': async (req, res) => {
      const form = await readForm(req);
      const auth = checkClientAuth(req, form, clients);
      if (auth.client === undefined) return json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
      login.revoke(auth.client, form);
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    },
    'GET /oidc/logout': (req, res) => login.logout(req, res),
    'GET /v2/logout': (req, res) => login.logout(req, res),
  };
  const counterOf: Record<string, keyof TestIssuerCounters> = {
    'GET /.well-known/openid-configuration': 'discovery',
    'GET /.well-known/jwks.json': 'jwks',
    'POST /oauth/token': 'token',
    'POST /oauth/introspect': 'introspection',
    'GET /authorize': 'authorization',
    'POST /oauth/revoke': 'revocation',
    'GET /oidc/logout': 'endSession',
    'GET /v2/logout': 'endSession',
  };

  const server: Server = createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
    const counter = counterOf[route];
    if (counter) counters[counter]++;
    if (outage === 'hang') return; // the socket stays open and silent until close()
    if (outage === 'error') return json(res, 503, { error: 'temporarily_unavailable' });
    const handler = routes[route];
    if (!handler) return json(res, 404, { error: 'not_found' });
    handler(req, res).catch(() => {
      if (!res.headersSent) json(res, 400, { error: 'invalid_request' });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    issuer: base,
    discoveryUrl: `${base}.well-known/openid-configuration`,
    jwksUri: `${base}.well-known/jwks.json`,
    tokenEndpoint: `${base}oauth/token`,
    introspectionEndpoint: `${base}oauth/introspect`,
    authorizationEndpoint: `${base}authorize`,
    endSessionEndpoint: `${base}oidc/logout`,
    requests: counters,
    get currentKid() {
      return ring.currentKid;
    },
    addClient: (client) => void clients.set(client.clientId, client),
    addUser: (user) => void users.set(user.username, user),
    authorize: (url, opts) => login.authorize(url, opts),
    sign: (claims = {}, opts = {}) => ring.sign(withDefaults(claims, opts.expiresIn ?? 3600), opts),
    clientToken: async (clientId, opts = {}) => {
      const client = clients.get(clientId);
      if (!client) throw new TypeError(`createTestIssuer: no client "${clientId}" (use addClient first)`);
      const audience = opts.audience ?? options.defaultAudience;
      if (!audience) throw new TypeError('createTestIssuer: clientToken needs an audience (or a defaultAudience)');
      return mint(opts.scope === undefined ? client : { ...client, scope: opts.scope }, audience);
    },
    opaqueToken: (claims = {}) => {
      const token = opaqueToken();
      opaque.set(token, withDefaults(claims, 3600));
      return token;
    },
    rotateKeys: (opts = {}) => ring.rotate(opts.dropPrevious ?? false),
    jwks: () => ring.jwks(),
    setOutage: (mode) => void (outage = mode),
    resetCounters: () => {
      for (const k of Object.keys(counters) as (keyof TestIssuerCounters)[]) counters[k] = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
