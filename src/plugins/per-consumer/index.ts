/**
 * `perConsumer()`: consumer-scoped plugin instances (Kong's plugins bound to a consumer), inside the
 * plugin contract.
 *
 * Kong picks a plugin's configuration per request, after authentication: "gold" gets its own
 * rate-limiting instance, everyone else the route's. A tollgate pipeline's plugins are fixed when
 * the gateway is built, so the choice is made by one plugin that stands for all the instances: it
 * runs at their priority (after the auth plugins, which set `ctx.consumer`), picks the instance of
 * the request's consumer or the default one, and hands that instance every phase of the request
 * with the instance's own private state. Nothing in the pipeline knows about consumers.
 *
 * @see https://developer.konghq.com/gateway/entities/plugin/#plugin-precedence
 */
import type { RequestContext } from '../../core/context';
import { ConfigError } from '../../core/errors';
import { internal } from '../../core/gateway-context';
import { settle } from '../../core/phases';
import { definePlugin, type AnyPlugin, type Plugin } from '../../core/plugin';

/** What `perConsumer()` takes. */
export interface PerConsumerOptions<P extends AnyPlugin = AnyPlugin> {
  /** The instance for requests whose consumer has none of its own (or that have no consumer). @defaultValue none: such requests skip the plugin */
  default?: P;
  /** One instance per consumer, keyed by `ctx.consumer.id` (with `oidc({ consumers })`: the registered consumer's `id`). */
  consumers: Readonly<Record<string, P>>;
}

/** The resolved config: which consumers have an instance of their own. */
export interface PerConsumerConfig {
  readonly consumers: readonly string[];
  readonly hasDefault: boolean;
}

/** The dispatcher's private per-request state: the instance chosen for the request. */
interface PerConsumerState {
  chosen?: AnyPlugin;
}

const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

/**
 * Runs, per request, the instance of a plugin that belongs to the request's consumer, else the
 * default instance: Kong's consumer-scoped plugins ("the gold consumer gets 1000 a minute, everyone
 * else 5"). The instances must be of one plugin (same name and priority); the choice is made when
 * the plugin's turn comes, so the consumer must be set by a plugin of higher priority (`oidc`, 1050).
 *
 * @example
 * ```ts
 * app.use('/api', gateway(
 *   oidc({ issuer, consumers: registry, consumerClaim: 'azp', consumerOptional: true }),
 *   perConsumer({
 *     default: rateLimit({ minute: 5 }),
 *     consumers: { gold: rateLimit({ minute: 1000 }) },
 *   }),
 *   upstreamProxy({ url }),
 * ));
 * ```
 * @throws ConfigError when an entry is not a plugin, or the instances are not of one plugin.
 * @see https://developer.konghq.com/gateway/entities/plugin/#plugin-precedence
 */
export function perConsumer<P extends AnyPlugin>(options: PerConsumerOptions<P>): Plugin<PerConsumerConfig> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('perConsumer: options must be an object ({ default?, consumers })', '');
  for (const key of Object.keys(options)) {
    if (key !== 'default' && key !== 'consumers') throw new ConfigError(`perConsumer: unknown option "${key}" (it takes default and consumers)`, key);
  }
  const fallback = options.default;
  const table = options.consumers;
  if (typeof table !== 'object' || table === null || Array.isArray(table) || Object.keys(table).length === 0) {
    throw new ConfigError('perConsumer: "consumers" must map at least one consumer id to a plugin', 'consumers');
  }
  // The default instance (else the first consumer's) is the one the others must match.
  const entries: [string, AnyPlugin][] = Object.entries(table).map(([id, p]) => [`consumers.${id}`, p]);
  if (fallback !== undefined) entries.unshift(['default', fallback]);
  const first = entries[0]![1];
  for (const [path, plugin] of entries) {
    if (typeof plugin !== 'object' || plugin === null || typeof plugin.name !== 'string' || typeof plugin.priority !== 'number') {
      throw new ConfigError(`perConsumer: "${path}" must be a plugin`, path);
    }
    if (plugin.name !== first.name || plugin.priority !== first.priority) {
      throw new ConfigError(
        `perConsumer: "${path}" is "${plugin.name}" (priority ${plugin.priority}), the others "${first.name}" (priority ${first.priority}); give instances of one plugin`,
        path,
      );
    }
  }
  const byConsumer = new Map(Object.entries(table) as [string, AnyPlugin][]);
  const all = entries.map(([, p]) => p);
  const pick = (ctx: RequestContext): AnyPlugin | undefined => {
    const id = ctx.consumer?.id;
    return (id === undefined ? undefined : byConsumer.get(id)) ?? fallback;
  };

  /** The chosen instance has nothing left to do (a cache hit): neither has the dispatcher. */
  const followSettled = (ctx: RequestContext, chosen: AnyPlugin): void => {
    const gateway = internal(ctx);
    if (gateway.settled?.includes(chosen)) settle(gateway, self);
  };

  const has = (hook: 'headerFilter' | 'bodyFilter' | 'log') => all.some((p) => typeof p[hook] === 'function');
  const self: Plugin<PerConsumerConfig, PerConsumerState> = definePlugin<PerConsumerConfig, PerConsumerState>({
    name: first.name,
    priority: first.priority,
    config: { consumers: [...byConsumer.keys()], hasDefault: fallback !== undefined },
    access(ctx, local) {
      const chosen = pick(ctx);
      if (chosen === undefined) return;
      local.chosen = chosen;
      if (!chosen.access) return;
      const result = chosen.access(ctx, ctx.local(chosen));
      if (isThenable(result)) return Promise.resolve(result).then(() => followSettled(ctx, chosen));
      followSettled(ctx, chosen);
    },
    ...(has('headerFilter')
      ? {
          headerFilter(ctx: RequestContext, local: PerConsumerState) {
            const chosen = local.chosen;
            if (chosen?.headerFilter) chosen.headerFilter(ctx, ctx.local(chosen));
          },
        }
      : {}),
    ...(has('bodyFilter')
      ? {
          bodyFilter(ctx: RequestContext, chunk: Buffer, eof: boolean, local: PerConsumerState) {
            const chosen = local.chosen;
            return chosen?.bodyFilter ? chosen.bodyFilter(ctx, chunk, eof, ctx.local(chosen)) : undefined;
          },
        }
      : {}),
    ...(has('log')
      ? {
          log(ctx: RequestContext, local: PerConsumerState) {
            const chosen = local.chosen;
            return chosen?.log ? chosen.log(ctx, ctx.local(chosen)) : undefined;
          },
        }
      : {}),
  });
  return self as Plugin<PerConsumerConfig>;
}
