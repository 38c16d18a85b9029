/**
 * The upstream proxy's options (Kong's service, upstream and target settings in camelCase) and
 * their validation, run once when the plugin is constructed.
 *
 * @see https://developer.konghq.com/gateway/entities/service/ — `url`, timeouts, `retries`
 * @see https://developer.konghq.com/gateway/entities/upstream/ — targets and `healthchecks`
 */
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { parseShape, v, type Validator, type Where } from '../../core/config';
import { ConfigError } from '../../core/errors';
import type { LoggerOption } from '../../core/logger';

/**
 * Passive health checks (Kong's `healthchecks.passive.unhealthy`): failures in a row, counted from
 * real traffic, that take a target out of the rotation. `0` turns a counter off.
 */
export interface PassiveUnhealthyOptions {
  /** Connection failures in a row (refused, reset, malformed response). @defaultValue `1` */
  tcpFailures?: number;
  /** Timeouts in a row (connect, read or write). @defaultValue `3` */
  timeouts?: number;
  /** Responses in a row whose status is in `httpStatuses`. @defaultValue `0` (off, as in Kong) */
  httpFailures?: number;
  /** The statuses `httpFailures` counts. @defaultValue `[429, 500, 503]` */
  httpStatuses?: number[];
}

/** Health checks of `targets`. tollgate has passive checks only, on by default (Kong: off). */
export interface HealthchecksOptions {
  passive?: {
    unhealthy?: PassiveUnhealthyOptions;
    /**
     * tollgate addition, standing in for Kong's active checks: seconds an unhealthy target stays
     * out before it gets traffic again (its next failure takes it out for as long again).
     * @defaultValue `10`
     */
    cooldown?: number;
  };
}

/** The pool of connections to the upstreams (Node's keep-alive `http.Agent`). */
export interface KeepaliveOptions {
  /** Idle connections kept per target (Kong's `upstream_keepalive_pool_size`). @defaultValue `256` */
  poolSize?: number;
  /**
   * Milliseconds an idle connection is kept (Kong's `upstream_keepalive_idle_timeout`); an
   * upstream's `Keep-Alive: timeout=N` hint shortens it.
   * @defaultValue `60000`
   */
  idleTimeout?: number;
  /** Most connections open at once per target; further requests queue. @defaultValue `Infinity` */
  maxSockets?: number;
}

/**
 * The gateway's own credentials for the backend (KrakenD's `auth/client-credentials`): a
 * client-credentials token is fetched, cached until shortly before it expires, and sent upstream
 * as `Authorization: Bearer …`, replacing the client's Authorization header.
 */
export interface BackendClientCredentialsOptions {
  /** The issuer, whose discovery document names the token endpoint. Give this or `tokenUrl`. */
  issuer?: string;
  /** The token endpoint (`https://TENANT.us.auth0.com/oauth/token`). Give this or `issuer`. */
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
  /** Scopes asked for, sent space-separated as `scope`. */
  scopes?: string[];
  /** Extra form arguments of the token request (`{ audience: 'https://api.example.com' }` for Auth0). */
  tokenPostArgs?: Record<string, string>;
  /** How the gateway authenticates at the token endpoint. @defaultValue `'client_secret_post'` (Auth0's) */
  authMethod?: 'client_secret_post' | 'client_secret_basic';
}

/** What `upstreamProxy()` takes: `url` or `targets`, and everything else optional. */
export interface UpstreamProxyOptions extends LoggerOption {
  /** The one upstream (Kong's service `url`); its path is prefixed to every upstream path. */
  url?: string | URL;
  /** Several upstreams, used round-robin with passive health checks (Kong's upstream targets). */
  targets?: (string | URL)[];
  /** Leave the gateway's mount path (`/httpbin`) out of the upstream path. @defaultValue `true` */
  stripPath?: boolean;
  /** Send the client's `Host` upstream instead of the target's. @defaultValue `false` */
  preserveHost?: boolean;
  /** Milliseconds to open a connection (TCP and TLS) to a target. @defaultValue `60000` */
  connectTimeout?: number;
  /** Milliseconds the upstream may stay silent between two reads. @defaultValue `60000` */
  readTimeout?: number;
  /** Milliseconds the upstream may take to accept each write of the request. @defaultValue `60000` */
  writeTimeout?: number;
  /**
   * Further tries after a connection failure, each on the next healthy target. Only idempotent
   * requests whose body can be sent again are retried; HTTP statuses never are.
   * @defaultValue `5`
   */
  retries?: number;
  /** Passive health checks; only with `targets`. */
  healthchecks?: HealthchecksOptions;
  /**
   * tollgate addition. The connection pool; `false` opens a connection per request (as
   * http-proxy-middleware does by default — for debugging only).
   * @defaultValue `{ poolSize: 256, idleTimeout: 60000, maxSockets: Infinity }`
   */
  keepalive?: boolean | KeepaliveOptions;
  /** tollgate addition. Your own agents (custom TLS, proxies); `keepalive` then does not apply. */
  agent?: { http?: HttpAgent; https?: HttpsAgent };
  /** Credentials the gateway presents to the backend. */
  auth?: { clientCredentials: BackendClientCredentialsOptions };
}

/** One upstream as the proxy uses it. */
export interface TargetConfig {
  /** The URL as configured, for logs. */
  readonly url: string;
  readonly protocol: 'http:' | 'https:';
  /** Host name or address, without IPv6 brackets. */
  readonly hostname: string;
  readonly port: number;
  /** The `Host` header: the host with its port when it is not the protocol's default. */
  readonly host: string;
  /** The URL's path, prefixed to every upstream path (`/` when none). */
  readonly basePath: string;
}

/** The resolved, frozen options. */
export interface UpstreamProxyConfig {
  readonly targets: readonly TargetConfig[];
  /** Whether several targets were configured (health checks apply). */
  readonly balanced: boolean;
  readonly stripPath: boolean;
  readonly preserveHost: boolean;
  readonly connectTimeout: number;
  readonly readTimeout: number;
  readonly writeTimeout: number;
  readonly retries: number;
  readonly healthchecks: {
    readonly tcpFailures: number;
    readonly timeouts: number;
    readonly httpFailures: number;
    readonly httpStatuses: readonly number[];
    readonly cooldown: number;
  };
  readonly keepalive: false | { readonly poolSize: number; readonly idleTimeout: number; readonly maxSockets: number };
  readonly agent?: { readonly http?: HttpAgent; readonly https?: HttpsAgent };
  readonly auth?: {
    readonly issuer?: string;
    readonly tokenUrl?: string;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly args: Readonly<Record<string, string>>;
    readonly authMethod: 'client_secret_post' | 'client_secret_basic';
  };
}

const WHERE: Where = { plugin: 'upstreamProxy' };
// setTimeout cannot wait longer than 2^31 - 1 ms.
const ms = () => v.integer({ min: 1, max: 2 ** 31 - 1 });

const unhealthyShape = {
  tcpFailures: v.optional(v.integer({ min: 0, max: 255 }), 1),
  timeouts: v.optional(v.integer({ min: 0, max: 255 }), 3),
  httpFailures: v.optional(v.integer({ min: 0, max: 255 }), 0),
  httpStatuses: v.optional(v.array(v.integer({ min: 100, max: 999 })), () => [429, 500, 503]),
};
const passiveShape = {
  unhealthy: v.optional(v.object(unhealthyShape), () => parseShape(WHERE, unhealthyShape, {}, 'healthchecks.passive.unhealthy')),
  cooldown: v.optional(v.number({ min: 0.001, max: 86_400 }), 10),
};
const healthShape = {
  passive: v.optional(v.object(passiveShape), () => parseShape(WHERE, passiveShape, {}, 'healthchecks.passive')),
};
const keepaliveShape = {
  poolSize: v.optional(v.integer({ min: 0 }), 256),
  idleTimeout: v.optional(ms(), 60_000),
  maxSockets: v.optional(v.either(v.integer({ min: 1 }), v.custom<number>('Infinity', (x) => x === Infinity)), Infinity),
};
/** `true`, `false` or an object; unlike `v.either`, an object's own mistake is reported at its path. */
const booleanOr = <T>(object: Validator<T>): Validator<boolean | T> => ({
  expected: `true, false or ${object.expected}`,
  optional: false,
  quote: true,
  check: (value, path, where) => (typeof value === 'boolean' ? value : object.check(value, path, where)),
});
const isAgent = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as { addRequest?: unknown }).addRequest === 'function';
const clientCredentialsShape = {
  issuer: v.optional(v.url()),
  tokenUrl: v.optional(v.url()),
  clientId: v.string(),
  clientSecret: v.secret(),
  scopes: v.optional(v.list(v.string())),
  tokenPostArgs: v.optional(v.record(v.string({ allowEmpty: true }))),
  authMethod: v.optional(v.oneOf(['client_secret_post', 'client_secret_basic'] as const), 'client_secret_post'),
};

const shape = {
  url: v.optional(v.url()),
  targets: v.optional(v.array(v.url(), { minLength: 1 })),
  stripPath: v.optional(v.boolean(), true),
  preserveHost: v.optional(v.boolean(), false),
  connectTimeout: v.optional(ms(), 60_000),
  readTimeout: v.optional(ms(), 60_000),
  writeTimeout: v.optional(ms(), 60_000),
  retries: v.optional(v.integer({ min: 0, max: 32_767 }), 5),
  healthchecks: v.optional(v.object(healthShape)),
  keepalive: v.optional(booleanOr(v.object(keepaliveShape)), true),
  agent: v.optional(
    v.object({
      http: v.optional(v.custom<HttpAgent>('an http.Agent', isAgent)),
      https: v.optional(v.custom<HttpsAgent>('an https.Agent', isAgent)),
    }),
  ),
  auth: v.optional(v.object({ clientCredentials: v.object(clientCredentialsShape) })),
};

/** Parses one upstream URL; a query, fragment or user info would be silently dropped, so they are refused. */
function parseTarget(raw: string, path: string): TargetConfig {
  const url = new URL(raw);
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`upstreamProxy: "${path}" must not carry credentials, a query or a fragment, got ${JSON.stringify(raw.replace(/\/\/[^@/]*@/, '//…@'))}`, path);
  }
  const protocol = url.protocol as 'http:' | 'https:';
  const port = url.port ? Number(url.port) : protocol === 'https:' ? 443 : 80;
  return {
    url: raw,
    protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port,
    host: url.host,
    basePath: url.pathname || '/',
  };
}

/** Validates `upstreamProxy()`'s options and fills in the defaults. */
export function resolveOptions(options: UpstreamProxyOptions): UpstreamProxyConfig {
  const o = parseShape(WHERE, shape, options);
  if (o.url !== undefined && o.targets !== undefined) {
    throw new ConfigError('upstreamProxy: give either "url" or "targets", not both', 'targets');
  }
  if (o.url === undefined && o.targets === undefined) {
    throw new ConfigError('upstreamProxy: "url" (one upstream) or "targets" (several) is required', 'url');
  }
  if (o.healthchecks !== undefined && o.targets === undefined) {
    throw new ConfigError('upstreamProxy: "healthchecks" apply to "targets"; with a single "url" there is no other target to send traffic to', 'healthchecks');
  }
  const targets = o.url !== undefined ? [parseTarget(o.url, 'url')] : o.targets!.map((t, i) => parseTarget(t, `targets[${i}]`));
  const health = o.healthchecks ?? parseShape(WHERE, healthShape, {}, 'healthchecks');
  const keepalive = o.keepalive === false ? false : o.keepalive === true ? parseShape(WHERE, keepaliveShape, {}, 'keepalive') : o.keepalive;
  if (o.agent !== undefined && options.keepalive !== undefined) {
    throw new ConfigError('upstreamProxy: "keepalive" does not apply to your own "agent"; configure the agent instead', 'keepalive');
  }
  return {
    targets,
    balanced: o.targets !== undefined,
    stripPath: o.stripPath,
    preserveHost: o.preserveHost,
    connectTimeout: o.connectTimeout,
    readTimeout: o.readTimeout,
    writeTimeout: o.writeTimeout,
    retries: o.retries,
    healthchecks: { ...health.passive.unhealthy, cooldown: health.passive.cooldown },
    keepalive,
    ...(o.agent !== undefined ? { agent: o.agent } : {}),
    ...(o.auth !== undefined ? { auth: resolveAuth(o.auth.clientCredentials) } : {}),
  };
}

function resolveAuth(cc: BackendClientCredentialsOptions & Required<Pick<BackendClientCredentialsOptions, 'authMethod'>>): NonNullable<UpstreamProxyConfig['auth']> {
  const path = 'auth.clientCredentials';
  if ((cc.issuer === undefined) === (cc.tokenUrl === undefined)) {
    throw new ConfigError(`upstreamProxy: "${path}" needs exactly one of "issuer" (discovery) or "tokenUrl"`, `${path}.tokenUrl`);
  }
  const args: Record<string, string> = { ...(cc.tokenPostArgs ?? {}) };
  for (const reserved of ['grant_type', 'client_id', 'client_secret']) {
    if (reserved in args) throw new ConfigError(`upstreamProxy: "${path}.tokenPostArgs" must not set "${reserved}"; it is sent from the other options`, `${path}.tokenPostArgs.${reserved}`);
  }
  if (cc.scopes !== undefined) {
    if ('scope' in args) throw new ConfigError(`upstreamProxy: set the scope in "${path}.scopes" or in "tokenPostArgs.scope", not both`, `${path}.scopes`);
    args.scope = cc.scopes.join(' ');
  }
  return {
    ...(cc.issuer !== undefined ? { issuer: cc.issuer } : { tokenUrl: cc.tokenUrl! }),
    clientId: cc.clientId,
    clientSecret: cc.clientSecret,
    args,
    authMethod: cc.authMethod,
  };
}
