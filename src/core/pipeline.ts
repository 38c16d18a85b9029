/**
 * The pipeline: plugins sorted by priority, and the four phases run over a request context.
 */
import type { ServerResponse } from 'node:http';
import { contextOf, type RequestContext } from './context';
import { ConfigError, InternalError, TollgateError } from './errors';
import { describeError, getLogger } from './logger';
import type { AnyPlugin } from './plugin';

const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

/** An ordered set of plugins, checked once when the gateway is built. */
export class Pipeline {
  /** The plugins, highest priority first. */
  readonly plugins: readonly AnyPlugin[];

  constructor(plugins: readonly AnyPlugin[], where = 'gateway') {
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
   * Runs the `access` hooks in priority order until one ends the request or takes over the
   * response. Stays synchronous while the hooks are.
   */
  runAccess(ctx: RequestContext, from = 0): void | Promise<void> {
    const plugins = this.plugins;
    for (let i = from; i < plugins.length; i++) {
      if (ctx.exited !== undefined || ctx.respondedBy !== undefined) break;
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
        result = plugin.access(ctx, ctx.local(plugin));
      } catch (err) {
        failAccess(ctx, plugin, err);
        break;
      }
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          () => this.runAccess(ctx, i + 1),
          (err: unknown) => {
            failAccess(ctx, plugin, err);
            armLog(ctx);
          },
        );
      }
    }
    armLog(ctx);
  }
}

/**
 * Called by a plugin's `access` hook when its `headerFilter`, `bodyFilter` and `log` have nothing
 * to do for this request (a cache hit: the response is the stored one). When no plugin that ran
 * is left with work, the response is written without the header and body phases and without a
 * 'close' listener: on a cache hit those were a tenth of the request's time.
 *
 * @internal for built-in plugins; the plugin contract does not require it.
 */
export function settle(ctx: RequestContext, plugin: AnyPlugin): void {
  const settled = (ctx.settled ??= []);
  if (!settled.includes(plugin)) settled.push(plugin);
  let header = false;
  let body = false;
  let log = false;
  for (const p of ctx.ran) {
    if (settled.includes(p)) continue;
    if (p.headerFilter) header = true;
    if (p.bodyFilter) body = true;
    if (p.log) log = true;
  }
  ctx.hasHeaderFilter = header;
  ctx.hasBodyFilter = body;
  ctx.hasLog = log;
}

/**
 * Arms the log phase, once the access phase is over, when a plugin that ran has a `log` hook and
 * has not settled: it runs when Node's response closes. Requests through gateways without one
 * add no listener (in-process test contexts have no response: `runPlugin` runs the phase itself).
 */
function armLog(ctx: RequestContext): void {
  if (!ctx.hasLog || ctx.logArmed) return;
  ctx.logArmed = true;
  const res = ctx.raw?.res;
  if (!res) return;
  if (res.destroyed || res.writableFinished) queueMicrotask(() => void runLog(ctx));
  else res.on('close', logOnClose);
}

/** One listener for every response ('close' fires once), finding its context through res.req. */
function logOnClose(this: ServerResponse): void {
  const ctx = contextOf(this.req);
  if (ctx) void runLog(ctx);
}

/** An `access` hook threw: a tollgate error is rendered as it says, anything else as a 500. */
function failAccess(ctx: RequestContext, plugin: AnyPlugin, err: unknown): void {
  if (err instanceof TollgateError) {
    if (err.status >= 500) getLogger().warn(`plugin "${plugin.name}" failed the request`, describeError(err.cause ?? err));
    ctx.fail(err);
    return;
  }
  getLogger().error(`plugin "${plugin.name}" threw in access`, describeError(err));
  ctx.fail(new InternalError('access hook failed', { cause: err }));
}

/**
 * Plugins that ran, in priority order (several gateways may have added to the list), without
 * those that settled.
 */
function ranInOrder(ctx: RequestContext): AnyPlugin[] {
  let ran = ctx.ran;
  const settled = ctx.settled;
  if (settled !== undefined) ran = ran.filter((p) => !settled.includes(p));
  for (let i = 1; i < ran.length; i++) {
    if (ran[i - 1]!.priority < ran[i]!.priority) return [...ran].sort((a, b) => b.priority - a.priority);
  }
  return ran;
}

/** Runs every `headerFilter` of the plugins that ran. A throwing filter is logged and skipped. */
export function runHeaderFilters(ctx: RequestContext): void {
  for (const plugin of ranInOrder(ctx)) {
    if (!plugin.headerFilter) continue;
    try {
      plugin.headerFilter(ctx, ctx.local(plugin));
    } catch (err) {
      getLogger().error(`plugin "${plugin.name}" threw in headerFilter`, describeError(err));
    }
  }
}

/** Passes one body chunk through every `bodyFilter` of the plugins that ran. */
export function runBodyFilters(ctx: RequestContext, chunk: Buffer, eof: boolean): Buffer {
  for (const plugin of ranInOrder(ctx)) {
    if (!plugin.bodyFilter) continue;
    try {
      const out = plugin.bodyFilter(ctx, chunk, eof, ctx.local(plugin));
      if (out) chunk = out;
    } catch (err) {
      getLogger().error(`plugin "${plugin.name}" threw in bodyFilter`, describeError(err));
    }
  }
  return chunk;
}

/** Runs every `log` hook of the plugins that ran; failures are logged, never rendered. */
export async function runLog(ctx: RequestContext): Promise<void> {
  for (const plugin of ranInOrder(ctx)) {
    if (!plugin.log) continue;
    try {
      await plugin.log(ctx, ctx.local(plugin));
    } catch (err) {
      getLogger().error(`plugin "${plugin.name}" threw in log`, describeError(err));
    }
  }
}
