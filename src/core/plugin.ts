/**
 * The plugin contract: a name, a priority, a frozen config and hooks at Kong's phases.
 *
 * @see https://developer.konghq.com/custom-plugins/handler.lua/ — Kong's phases and priorities
 */
import type { RequestContext } from './context';
import { ConfigError } from './errors';
import { deepFreeze } from './config';

/**
 * A gateway plugin. `L` is the type of the plugin's private per-request state, passed to every hook
 * as `local` and never visible to other plugins.
 */
export interface Plugin<C = unknown, L extends object = Record<string, unknown>> {
  /** Unique within a pipeline. */
  readonly name: string;
  /** Higher runs first (Kong: OIDC 1050, rate limiting 910, proxy cache 100). */
  readonly priority: number;
  /** The validated, frozen options. */
  readonly config: Readonly<C>;
  /**
   * Before the request reaches its handler. May end the request with `ctx.exit(...)` or by throwing
   * a tollgate error; later plugins' `access` hooks are then skipped.
   */
  access?(ctx: RequestContext, local: L): void | Promise<void>;
  /**
   * Just before the response head is sent: `ctx.response.status` and headers are still mutable.
   * Synchronous, like Kong's header_filter.
   */
  headerFilter?(ctx: RequestContext, local: L): void;
  /**
   * For each chunk of the response body (`eof` true on the last call, whose chunk may be empty).
   * Return a Buffer to replace the chunk. Synchronous.
   */
  bodyFilter?(ctx: RequestContext, chunk: Buffer, eof: boolean, local: L): Buffer | void;
  /** After the response finished (or the client went away). Errors are logged, never rendered. */
  log?(ctx: RequestContext, local: L): void | Promise<void>;
}

/** A plugin of any config and state type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = Plugin<any, any>;

/** What {@link definePlugin} takes: the plugin without the need to spell out a config. */
export type PluginDefinition<C, L extends object> = Omit<Plugin<C, L>, 'config'> & { config?: C };

const HOOKS = ['access', 'headerFilter', 'bodyFilter', 'log'] as const;

/**
 * Defines a plugin, checking its shape once and freezing its config.
 *
 * @example
 * ```ts
 * const poweredBy = definePlugin({
 *   name: 'powered-by',
 *   priority: 5,
 *   headerFilter(ctx) { ctx.response.setHeader('X-Powered-By', 'tollgate'); },
 * });
 * app.use(gateway(poweredBy));
 * ```
 */
export function definePlugin<C = Record<string, never>, L extends object = Record<string, unknown>>(
  definition: PluginDefinition<C, L>,
): Plugin<C, L> {
  if (typeof definition !== 'object' || definition === null) {
    throw new ConfigError('definePlugin: the definition must be an object', '');
  }
  const { name, priority } = definition;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-_]*$/i.test(name)) {
    throw new ConfigError(`definePlugin: "name" must be a non-empty string of letters, digits, "-" or "_", got ${JSON.stringify(name)}`, 'name');
  }
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new ConfigError(`definePlugin(${name}): "priority" must be a finite number, got ${String(priority)}`, 'priority');
  }
  let hasHook = false;
  for (const hook of HOOKS) {
    const fn = definition[hook];
    if (fn === undefined) continue;
    if (typeof fn !== 'function') throw new ConfigError(`definePlugin(${name}): "${hook}" must be a function`, hook);
    hasHook = true;
  }
  if (!hasHook) throw new ConfigError(`definePlugin(${name}): define at least one of ${HOOKS.join(', ')}`, 'access');
  for (const key of Object.keys(definition)) {
    if (!['name', 'priority', 'config', ...HOOKS].includes(key)) {
      throw new ConfigError(`definePlugin(${name}): unknown property "${key}"`, key);
    }
  }
  return Object.freeze({ ...definition, config: deepFreeze((definition.config ?? {}) as C) });
}
