/**
 * A loopback server shaped like an Auth0 tenant, for the registrar and developer-portal tests.
 *
 * It checks each request the way Auth0 documents it (token audience, client_secret_post body,
 * Management API bearer and permissions, request bodies) and answers Auth0's response and error
 * shapes. Registered applications can then get RS256 access tokens from /oauth/token with Auth0's
 * machine-to-machine claims (`iss` with a trailing slash, `sub: <id>@clients`, `azp`, `gty`), which
 * a gateway verifies through the served discovery document and JWKS.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';

/** One request as the server saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

/** A canned answer for the next request(s) to a path, e.g. a 429 with Retry-After. */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Milliseconds to wait before answering (to outlive a client's timeout). */
  delay?: number;
}

interface App {
  clientId: string;
  clientSecret: string;
  name: string;
  description?: string;
  metadata?: Record<string, string>;
}

interface Options {
  /** The admin application's credentials and Management API permissions. */
  admin: { clientId: string; clientSecret: string; permissions: string[] };
  /** API identifiers (resource servers) that exist in the tenant. */
  apis: string[];
  /** Management token lifetime in seconds. @defaultValue 86400 */
  managementTokenLifetime?: number;
}

const ALL_PERMISSIONS = ['create:clients', 'delete:clients', 'create:client_grants', 'update:client_keys'];
export { ALL_PERMISSIONS };

export class Auth0Server {
  readonly requests: SeenRequest[] = [];
  readonly apps = new Map<string, App>();
  readonly grants: { id: string; client_id: string; audience: string; scope: string[] }[] = [];
  permissions: string[];
  /** Every client secret and access token this server ever issued, to grep errors for. */
  readonly issuedSecrets: string[] = [];
  readonly issuedTokens: string[] = [];
  private readonly scripted = new Map<string, ScriptedAnswer[]>();
  private readonly mgmtTokens = new Map<string, number>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private keys!: { privateKey: Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey']; jwk: jose.JWK };
  url = '';
  /** The tenant's issuer as Auth0 writes it: with a trailing slash. */
  issuer = '';

  constructor(private readonly options: Options) {
    this.permissions = [...options.admin.permissions];
  }

  async start(): Promise<this> {
    const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
    this.keys = { privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' } };
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.issuer = `${this.url}/`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The tenant domain as a registrar is configured with (`host:port`; requests go to `url`). */
  get domain(): string {
    return new URL(this.url).host;
  }

  /** Answers the next `times` requests to `METHOD /path` with `answer` instead of handling them. */
  script(route: string, answer: ScriptedAnswer, times = 1): void {
    this.scripted.set(route, [...(this.scripted.get(route) ?? []), ...Array.from({ length: times }, () => answer)]);
  }

  /** Forgets every Management token, as if they had been revoked. */
  revokeManagementTokens(): void {
    this.mgmtTokens.clear();
  }

  count(route: string): number {
    return this.requests.filter((r) => `${r.method} ${r.path}` === route).length;
  }

  private send(res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  /** The Management API's error shape. */
  private mgmtError(res: http.ServerResponse, status: number, error: string, message: string, errorCode?: string): void {
    this.send(res, status, { statusCode: status, error, message, ...(errorCode ? { errorCode } : {}) });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', this.url).pathname;
    const type = req.headers['content-type'] ?? '';
    let body: Record<string, unknown> | undefined;
    try {
      if (raw && type.startsWith('application/json')) body = JSON.parse(raw);
      else if (raw && type.startsWith('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
    } catch {
      return this.mgmtError(res, 400, 'Bad Request', 'Invalid request payload JSON format', 'invalid_body');
    }
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, headers: req.headers, body });
    const route = `${method} ${path.replace(/\/api\/v2\/clients\/[^/]+/, '/api/v2/clients/:id')}`;
    const canned = this.scripted.get(route)?.shift();
    if (canned) {
      if (canned.delay) await new Promise((resolve) => setTimeout(resolve, canned.delay).unref());
      if (!res.destroyed) this.send(res, canned.status, canned.body, canned.headers);
      return;
    }

    if (route === 'GET /.well-known/openid-configuration') {
      return this.send(res, 200, {
        issuer: this.issuer,
        token_endpoint: `${this.url}/oauth/token`,
        jwks_uri: `${this.url}/.well-known/jwks.json`,
        registration_endpoint: `${this.url}/oidc/register`,
        grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
        id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
        response_types_supported: ['code', 'token', 'id_token'],
        subject_types_supported: ['public'],
      });
    }
    if (route === 'GET /.well-known/jwks.json') return this.send(res, 200, { keys: [this.keys.jwk] });
    if (route === 'POST /oauth/token') return this.token(res, body);
    if (path.startsWith('/api/v2/')) return this.management(req, res, route, path, body);
    return this.mgmtError(res, 404, 'Not Found', 'Not Found');
  }

  private async token(res: http.ServerResponse, body: Record<string, unknown> | undefined): Promise<void> {
    const err = (status: number, error: string, description: string) => this.send(res, status, { error, error_description: description });
    if (body?.grant_type !== 'client_credentials') return err(400, 'unsupported_grant_type', 'Unsupported grant type');
    const { client_id: id, client_secret: secret, audience } = body as Record<string, string | undefined>;
    if (!id || !secret) return err(401, 'access_denied', 'Unauthorized');
    if (typeof audience !== 'string' || !audience) return err(403, 'access_denied', 'No audience parameter was provided, and no default audience has been configured');
    const now = Math.floor(Date.now() / 1000);
    if (id === this.options.admin.clientId) {
      if (secret !== this.options.admin.clientSecret) return err(401, 'access_denied', 'Unauthorized');
      if (audience !== `https://${this.domain}/api/v2/`) return err(403, 'access_denied', `Service not found: ${audience}`);
      const token = randomBytes(24).toString('base64url');
      const lifetime = this.options.managementTokenLifetime ?? 86400;
      this.mgmtTokens.set(token, Date.now() + lifetime * 1000);
      this.issuedTokens.push(token);
      return this.send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: this.permissions.join(' ') });
    }
    const app = this.apps.get(id);
    if (!app || app.clientSecret !== secret) return err(401, 'access_denied', 'Unauthorized');
    if (!this.options.apis.includes(audience)) return err(403, 'access_denied', `Service not found: ${audience}`);
    const grant = this.grants.find((g) => g.client_id === id && g.audience === audience);
    if (!grant) {
      return err(403, 'access_denied', `Client is not authorized to access "${audience}". You might probably want to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`);
    }
    const jwt = await new jose.SignJWT({ azp: id, gty: 'client-credentials', ...(grant.scope.length ? { scope: grant.scope.join(' ') } : {}) })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.keys.jwk.kid! })
      .setIssuer(this.issuer)
      .setSubject(`${id}@clients`)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 86400)
      .sign(this.keys.privateKey);
    this.issuedTokens.push(jwt);
    return this.send(res, 200, { access_token: jwt, token_type: 'Bearer', expires_in: 86400, ...(grant.scope.length ? { scope: grant.scope.join(' ') } : {}) });
  }

  private management(req: http.IncomingMessage, res: http.ServerResponse, route: string, path: string, body: Record<string, unknown> | undefined): void {
    const rate = { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '49', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1) };
    for (const [k, val] of Object.entries(rate)) res.setHeader(k, val);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expiry = bearer ? this.mgmtTokens.get(bearer) : undefined;
    if (!bearer) return this.mgmtError(res, 401, 'Unauthorized', 'Missing authentication');
    if (expiry === undefined || expiry < Date.now()) return this.mgmtError(res, 401, 'Unauthorized', 'Invalid token');
    const need = (permission: string) => {
      if (this.permissions.includes(permission)) return true;
      this.mgmtError(res, 403, 'Forbidden', `Insufficient scope, expected any of: ${permission}`, 'insufficient_scope');
      return false;
    };
    const json = () => {
      if ((req.headers['content-type'] ?? '').startsWith('application/json') && body) return true;
      this.mgmtError(res, 400, 'Bad Request', 'Payload validation error: a JSON body is required', 'invalid_body');
      return false;
    };
    const clientId = /^\/api\/v2\/clients\/([^/]+)/.exec(path)?.[1];
    const app = clientId ? this.apps.get(decodeURIComponent(clientId)) : undefined;

    switch (route) {
      case 'POST /api/v2/clients': {
        if (!need('create:clients') || !json()) return;
        const allowed = ['name', 'description', 'app_type', 'grant_types', 'token_endpoint_auth_method', 'client_metadata'];
        const extra = Object.keys(body!).filter((k) => !allowed.includes(k));
        if (extra.length) return this.mgmtError(res, 400, 'Bad Request', `Payload validation error: 'Additional properties not allowed: ${extra.join(',')}'.`, 'invalid_body');
        const b = body as Record<string, unknown>;
        if (typeof b.name !== 'string' || !b.name) return this.mgmtError(res, 400, 'Bad Request', "Payload validation error: 'Missing required property: name'.", 'invalid_body');
        if (b.app_type !== 'non_interactive') return this.mgmtError(res, 400, 'Bad Request', 'test server: expected app_type non_interactive', 'invalid_body');
        if (JSON.stringify(b.grant_types) !== '["client_credentials"]') return this.mgmtError(res, 400, 'Bad Request', 'test server: expected grant_types [client_credentials]', 'invalid_body');
        if (b.token_endpoint_auth_method !== 'client_secret_post' && b.token_endpoint_auth_method !== 'client_secret_basic') {
          return this.mgmtError(res, 400, 'Bad Request', 'Invalid grant types: client_credentials', 'invalid_body');
        }
        const metadata = b.client_metadata as Record<string, unknown> | undefined;
        if (metadata && (Object.keys(metadata).length > 10 || Object.values(metadata).some((x) => typeof x !== 'string'))) {
          return this.mgmtError(res, 400, 'Bad Request', "Payload validation error: 'client_metadata' is invalid", 'invalid_body');
        }
        const created: App = {
          clientId: randomBytes(16).toString('base64url').replace(/[-_]/g, 'x'),
          clientSecret: randomBytes(48).toString('base64url'),
          name: b.name,
          ...(typeof b.description === 'string' ? { description: b.description } : {}),
          ...(metadata ? { metadata: metadata as Record<string, string> } : {}),
        };
        this.apps.set(created.clientId, created);
        this.issuedSecrets.push(created.clientSecret);
        return this.send(res, 201, this.clientView(created));
      }
      case 'POST /api/v2/client-grants': {
        if (!need('create:client_grants') || !json()) return;
        const b = body as { client_id?: unknown; audience?: unknown; scope?: unknown };
        if (typeof b.client_id !== 'string' || typeof b.audience !== 'string' || !Array.isArray(b.scope) || Object.keys(b).length !== 3) {
          return this.mgmtError(res, 400, 'Bad Request', 'Payload validation error: expected client_id, audience and scope[]', 'invalid_body');
        }
        if (!this.apps.has(b.client_id)) return this.mgmtError(res, 404, 'Not Found', 'Client not found', 'inexistent_client');
        if (!this.options.apis.includes(b.audience)) return this.mgmtError(res, 404, 'Not Found', 'No resource server found by identifier', 'inexistent_resource_server');
        if (this.grants.some((g) => g.client_id === b.client_id && g.audience === b.audience)) {
          return this.mgmtError(res, 409, 'Conflict', 'A client grant for this client and audience already exists', 'conflict');
        }
        const grant = { id: `cgr_${randomBytes(8).toString('hex')}`, client_id: b.client_id, audience: b.audience, scope: b.scope as string[] };
        this.grants.push(grant);
        return this.send(res, 201, grant);
      }
      case 'DELETE /api/v2/clients/:id': {
        if (!need('delete:clients')) return;
        if (!app) return this.mgmtError(res, 404, 'Not Found', 'The client does not exist', 'inexistent_client');
        this.apps.delete(app.clientId);
        for (let i = this.grants.length - 1; i >= 0; i--) if (this.grants[i]!.client_id === app.clientId) this.grants.splice(i, 1);
        return this.send(res, 204);
      }
      case 'POST /api/v2/clients/:id/rotate-secret': {
        if (!need('update:client_keys')) return;
        if (!app) return this.mgmtError(res, 404, 'Not Found', 'The client does not exist', 'inexistent_client');
        app.clientSecret = randomBytes(48).toString('base64url');
        this.issuedSecrets.push(app.clientSecret);
        return this.send(res, 200, this.clientView(app));
      }
      default:
        return this.mgmtError(res, 404, 'Not Found', 'Not Found');
    }
  }

  private clientView(app: App): Record<string, unknown> {
    return {
      client_id: app.clientId,
      client_secret: app.clientSecret,
      name: app.name,
      ...(app.description ? { description: app.description } : {}),
      app_type: 'non_interactive',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_post',
      client_metadata: app.metadata ?? {},
      is_first_party: true,
      tenant: 'test-tenant',
      jwt_configuration: { alg: 'RS256', lifetime_in_seconds: 36000, secret_encoded: false },
    };
  }
}
