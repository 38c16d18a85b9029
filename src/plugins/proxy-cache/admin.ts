/**
 * Kong's proxy-cache Admin API as a tiny plugin, so one router works in Express and Koa alike:
 * `DELETE /proxy-cache/:key` and `DELETE /proxy-cache`. It has no authentication of its own: mount
 * it behind the app's (an auth plugin in the same gateway, or the app's own middleware before it).
 *
 * @see https://developer.konghq.com/plugins/proxy-cache/api/ — Kong's endpoints
 */
import { ConfigError } from '../../core/errors';
import { definePlugin, type Plugin } from '../../core/plugin';
import type { ProxyCachePlugin } from './index';

/** Options of {@link proxyCacheAdmin}. */
export interface ProxyCacheAdminOptions {
  /** Where the routes live, relative to the mount point. @defaultValue `'/proxy-cache'` */
  path?: string;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/**
 * Answers `DELETE <path>` (purge every entry of every given cache: 204) and `DELETE <path>/:key`
 * (purge one key wherever it is: 204, or 404 when no cache held it); other methods on those paths
 * get 405. Any other path goes on to the next handler.
 *
 * @example
 * ```ts
 * const cache = proxyCache({ strategy: 'redis', redis: { url: 'redis://127.0.0.1:6379' } });
 * app.use('/admin', requireAdmin, gateway(proxyCacheAdmin(cache)));
 * // DELETE /admin/proxy-cache/3b7c…e1 → 204
 * ```
 * @throws ConfigError when no cache or a bad path is given.
 */
export function proxyCacheAdmin(caches: ProxyCachePlugin | readonly ProxyCachePlugin[], options: ProxyCacheAdminOptions = {}): Plugin {
  const list = Array.isArray(caches) ? [...caches] : [caches as ProxyCachePlugin];
  if (list.length === 0 || list.some((c) => typeof c?.purge !== 'function' || typeof c.purgeAll !== 'function')) {
    throw new ConfigError('proxyCacheAdmin: "caches" must be one or more proxyCache() instances', 'caches');
  }
  const base = options.path ?? '/proxy-cache';
  if (typeof base !== 'string' || !/^\/[^?#]*[^/?#]$/.test(base)) {
    throw new ConfigError(`proxyCacheAdmin: "path" must start with "/" and not end with "/", got ${JSON.stringify(base)}`, 'path');
  }
  const prefix = `${base}/`;

  return definePlugin({
    name: 'proxy-cache-admin',
    priority: 50,
    async access(ctx) {
      // The URL as the framework hands it to this mount (Express and koa-mount strip the mount
      // prefix from req.url): ctx.request.path was fixed by the first gateway on the request.
      const url = ctx.raw?.req.url ?? ctx.request.path;
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      let key: string | undefined;
      if (path === base) key = undefined;
      else if (path.startsWith(prefix) && !path.slice(prefix.length).includes('/')) key = path.slice(prefix.length);
      else return;

      if (ctx.request.method !== 'DELETE') {
        ctx.exit(405, { message: 'Method not allowed' }, { Allow: 'DELETE' });
        return;
      }
      if (key === undefined) {
        await Promise.all(list.map((c) => c.purgeAll()));
        ctx.exit(204);
        return;
      }
      if (!HEX_KEY.test(key)) {
        ctx.exit(400, { message: 'A cache key is 64 lower-case hexadecimal characters (the X-Cache-Key value)' });
        return;
      }
      const purged = await Promise.all(list.map((c) => c.purge(key)));
      if (purged.some(Boolean)) ctx.exit(204);
      else ctx.exit(404, { message: 'Not found' });
    },
  });
}
