/**
 * The pipeline: plugins sorted by priority, and the access phase run over a request context.
 * The later phases are in phases.ts; how an answer is written, in respond.ts.
 */
import { pluginChannel } from './diagnostics';
import type { GatewayContext } from './gateway-context';
import { ConfigError, InternalError, TollgateError } from './errors';
import { describeError, type Logger } from './logger';
import { armLog } from './phases';
import type { AnyPlugin } from './plugin';
import { isThenable, tracePhase } from './trace';

/** An ordered set of plugins, checked once when the gateway is built. */
export class Pipeline {
  /** The plugins, highest priority first. */
  readonly plugins: readonly AnyPlugin[];

  /**
   * @param logger - where this gateway reports a plugin that failed a request (undefined: the
   *   context's logger)
   */
  constructor(
    plugins: readonly AnyPlugin[],
    where = 'gateway',
    private readonly logger?: Logger,
  ) {
    const seen = new Set<string>();
    plugins.forEach((p, i) => {
      if (typeof p !== 'object' || p === null || typeof p.name !== 'string' || typeof p.priority !== 'number') {
        throw new ConfigError(`${where}: argument ${i + 1} is not a plugin (use definePlugin() or a built-in plugin factory)`, `[${i}]`);
      }
      if (seen.has(p.name)) {
        throw new ConfigError(`${where}: two plugins are named "${p.name}"; a pipeline runs each plugin once`, `[${i}]`);
      }
      seen.add(p.name);
    });
    // Array.prototype.sort is stable: equal priorities keep the order they were listed in.
    this.plugins = Object.freeze([...plugins].sort((a, b) => b.priority - a.priority));
  }

  /**
   * Runs the `access` hooks in priority order until one answers the request. Stays synchronous
   * while the hooks are.
   */
  runAccess(ctx: GatewayContext, from = 0): void | Promise<void> {
    const plugins = this.plugins;
    const traced = pluginChannel.hasSubscribers;
    for (let i = from; i < plugins.length; i++) {
      if (ctx.answer !== undefined) break;
      const plugin = plugins[i]!;
      // The same plugin instance mounted by two gateways on one request runs once.
      if (ctx.ran.includes(plugin)) continue;
      ctx.ran.push(plugin);
      if (plugin.headerFilter) ctx.hasHeaderFilter = true;
      if (plugin.bodyFilter) ctx.hasBodyFilter = true;
      if (plugin.log) ctx.hasLog = true;
      if (!plugin.access) continue;
      let result: unknown;
      try {
        result = traced ? tracePhase(ctx, plugin, 'access', () => plugin.access!(ctx, ctx.local(plugin))) : plugin.access(ctx, ctx.local(plugin));
      } catch (err) {
        this.failAccess(ctx, plugin, err);
        break;
      }
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          () => this.runAccess(ctx, i + 1),
          (err: unknown) => {
            this.failAccess(ctx, plugin, err);
            armLog(ctx);
          },
        );
      }
    }
    armLog(ctx);
  }

  /** An `access` hook threw: a tollgate error is rendered as it says, anything else as a 500. */
  private failAccess(ctx: GatewayContext, plugin: AnyPlugin, err: unknown): void {
    const log = this.logger ?? ctx.log;
    if (err instanceof TollgateError) {
      if (err.status >= 500) log.warn(`plugin "${plugin.name}" failed the request`, describeError(err.cause ?? err));
      ctx.fail(err);
      return;
    }
    log.error(`plugin "${plugin.name}" threw in access`, describeError(err));
    ctx.fail(new InternalError('access hook failed', { cause: err }));
  }
}
