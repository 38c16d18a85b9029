/**
 * A plan made real: the tollgate plugins of every route (one object per Kong plugin instance, or
 * per route where Kong keys state by route), consumer-scoped instances behind `perConsumer`, one
 * upstream proxy per service and route settings, and a pipeline per route.
 */
import type { Logger } from '../core/logger';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';
import { perConsumer } from '../plugins/per-consumer';
import { upstreamProxy } from '../plugins/upstream-proxy';
import type { KongPlan, PluginInstance } from './plan';
import type { BuildContext } from './plugins';
import type { RoutePlan } from './routes';

/** A route ready to serve. */
export interface BuiltRoute {
  readonly plan: RoutePlan;
  readonly pipeline: Pipeline;
}

/** Every route of the file, and a way to release what the plugins hold. */
export interface BuiltGateway {
  readonly routes: readonly BuiltRoute[];
  close(): Promise<void>;
}

type Closable = { close?: () => unknown };

export function buildGateway(plan: KongPlan, logger: Logger | undefined, context: BuildContext): BuiltGateway {
  const built: AnyPlugin[] = [];
  const shared = new Map<PluginInstance, AnyPlugin>();
  const proxies = new Map<string, AnyPlugin>();

  /** The plugin object for an instance on a route: shared by the routes, or the route's own. */
  const instanceFor = (instance: PluginInstance): AnyPlugin => {
    if (instance.plan.share === 'instance') {
      let plugin = shared.get(instance);
      if (plugin === undefined) {
        plugin = instance.plan.build(context);
        shared.set(instance, plugin);
        built.push(plugin);
      }
      return plugin;
    }
    const plugin = instance.plan.build(context);
    built.push(plugin);
    return plugin;
  };

  const routes = plan.routes.map(({ plan: route, slots }): BuiltRoute => {
    const plugins: AnyPlugin[] = slots.map((slot) => {
      const fallback = slot.fallback === undefined ? undefined : instanceFor(slot.fallback);
      if (slot.byConsumer.size === 0) return fallback!;
      const consumers: Record<string, AnyPlugin> = {};
      for (const [id, instance] of slot.byConsumer) consumers[id] = instanceFor(instance);
      return perConsumer({ ...(fallback ? { default: fallback } : {}), consumers });
    });
    const service = route.service;
    if (service?.proxy !== undefined) {
      // One proxy (one connection pool, one set of target health) per service and route settings.
      const key = `${service.entity.path}|${route.stripPath}|${route.preserveHost}`;
      let proxy = proxies.get(key);
      if (proxy === undefined) {
        proxy = upstreamProxy({ ...service.proxy, stripPath: route.stripPath, preserveHost: route.preserveHost });
        proxies.set(key, proxy);
        built.push(proxy);
      }
      plugins.push(proxy);
    }
    return { plan: route, pipeline: new Pipeline(plugins, `fromKong route ${route.name}`, logger) };
  });

  return {
    routes,
    async close() {
      await Promise.all(built.map((p) => (p as Closable).close?.()));
    },
  };
}
