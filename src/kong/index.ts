/**
 * `tollgate/kong`: run a Kong declarative configuration (a decK file) in-process — its services,
 * routes, consumers and plugins, matched and chosen as Kong does — as Express or Koa middleware
 * or a node:http handler, and unit-test it with jest.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { readFileSync } from 'node:fs';
 * import { fromKong } from 'tollgate/kong';
 *
 * const kong = fromKong(readFileSync('kong.yaml', 'utf8'));
 * const app = express();
 * app.use(kong.express());
 * ```
 *
 * @packageDocumentation
 * @module tollgate/kong
 */
import type { RequestHandler } from 'express';
import type { Middleware } from 'koa';
import type { ConsumerRegistry } from '../core/consumers';
import { v } from '../core/config';
import { ConfigError } from '../core/errors';
import type { Logger } from '../core/logger';
import { buildGateway } from './build';
import { Dispatcher } from './dispatch';
import type { KongFinding, KongWarning } from './findings';
import { expressHost, koaHost, nodeHost, type NodeHandler } from './hosts';
import { planKong } from './plan';
import { readSource } from './source';

export type { KongFinding, KongFindingStatus, KongWarning } from './findings';
export type { NodeHandler } from './hosts';

/** What `fromKong` takes besides the file. */
export interface FromKongOptions {
  /**
   * What to do with parts of the file tollgate cannot run (a plugin it does not have, a field it
   * cannot honour): `error` throws one ConfigError naming every one of them; `warn` leaves them
   * out and lists them in `warnings`. Parts Kong itself would refuse always throw.
   * @defaultValue `'error'`
   */
  onUnsupported?: 'error' | 'warn';
  /** Where `${{ env "DECK_…" }}` placeholders are read from. @defaultValue `process.env` */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where the gateway's plugins report, as `gateway({ logger })`. @defaultValue the logger `setLogger` set */
  logger?: Logger;
  /**
   * **tollgate addition**, a test seam: the clock of every rate limiter the configuration builds
   * (rateLimit's `now`), in epoch milliseconds.
   * @defaultValue `Date.now`
   */
  now?: () => number;
}

/** A decK file, ready to mount. Every host shares the same plugins (counters, caches, connections). */
export interface KongGateway {
  /** An Express middleware: `app.use(kong.express())` (or under a prefix: routes are then relative to it). */
  express(): RequestHandler;
  /** A Koa middleware: `app.use(kong.koa())`. */
  koa(): Middleware;
  /**
   * A node:http handler: `http.createServer(kong.node())`. Requests of routes without a service go
   * to `next` when given, else get Kong's 503.
   */
  node(): NodeHandler;
  /** The parts left out with `onUnsupported: 'warn'` (empty with `'error'`: they throw). */
  readonly warnings: readonly KongWarning[];
  /** What each part of the file maps to: supported, translated (with a difference), unsupported. */
  readonly report: readonly KongFinding[];
  /** The file's consumers, as `oidc({ consumers })` maps tokens to them. */
  readonly consumers: ConsumerRegistry;
  /** Closes what the plugins hold: upstream connection pools, Redis clients tollgate created. */
  close(): Promise<void>;
}

const FROM_KONG_OPTIONS = ['onUnsupported', 'env', 'logger', 'now'];

/**
 * Reads a decK file (`_format_version: "3.0"`) and builds its gateway: services and upstreams →
 * `upstreamProxy`, routes matched with Kong's priority rules (`strip_path`, `preserve_host`),
 * openid-connect and oauth2-introspection → `oidc`, rate-limiting → `rateLimit`, proxy-cache →
 * `proxyCache`, at global, service, route and consumer scope with Kong's precedence. A request no
 * route matches gets Kong's 404 `{"message":"no Route matched with those values"}`.
 *
 * @param source - decK YAML or JSON text, or the parsed object
 * @throws ConfigError naming every path of the file that cannot run (all at once), unless
 *   `onUnsupported: 'warn'`; and always for what Kong itself would refuse.
 * @example
 * ```ts
 * const kong = fromKong(yaml, { onUnsupported: 'warn', env: { DECK_ISSUER: 'https://tenant.eu.auth0.com/' } });
 * for (const w of kong.warnings) console.warn(`${w.path}: ${w.message}`);
 * app.use(kong.express());
 * ```
 * @see docs/kong.md — the field-by-field mapping
 */
export function fromKong(source: string | Buffer | Readonly<Record<string, unknown>>, options: FromKongOptions = {}): KongGateway {
  if (typeof options !== 'object' || options === null) throw new ConfigError('fromKong: options must be an object', '');
  for (const key of Object.keys(options)) {
    if (!FROM_KONG_OPTIONS.includes(key)) throw new ConfigError(`fromKong: unknown option "${key}" (it takes ${FROM_KONG_OPTIONS.join(', ')})`, key);
  }
  const onUnsupported = options.onUnsupported ?? 'error';
  if (onUnsupported !== 'error' && onUnsupported !== 'warn') {
    throw new ConfigError(`fromKong: "onUnsupported" must be "error" or "warn", got ${JSON.stringify(onUnsupported)}`, 'onUnsupported');
  }
  const now = options.now === undefined ? undefined : v.clock().check(options.now, 'now', { plugin: 'fromKong' });
  const doc = readSource(source, options.env ?? process.env);
  const plan = planKong(doc);
  const warnings = plan.findings.settle(onUnsupported);
  const built = buildGateway(plan, options.logger, { now });
  const dispatcher = new Dispatcher(built.routes);
  return Object.freeze({
    express: () => expressHost(dispatcher, options.logger),
    koa: () => koaHost(dispatcher, options.logger),
    node: () => nodeHost(dispatcher, options.logger),
    warnings: Object.freeze(warnings),
    report: Object.freeze([...plan.findings.list]),
    consumers: plan.consumers,
    close: () => built.close(),
  });
}

/**
 * Reads a decK file and says what each part maps to, without building anything (no connection is
 * opened): what `npx tollgate kong check` prints.
 *
 * @throws ConfigError when the file is not YAML/JSON or names unset environment variables.
 */
export function checkKong(source: string | Buffer | Readonly<Record<string, unknown>>, options: Pick<FromKongOptions, 'env'> = {}): readonly KongFinding[] {
  return planKong(readSource(source, options.env ?? process.env)).findings.list;
}
