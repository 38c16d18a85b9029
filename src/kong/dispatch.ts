/**
 * What every host does with a request once its context is attached: find the Kong route, answer
 * Kong's own answers (no route: 404; plain http on an HTTPS-only route: 426 or a redirect),
 * anchor the request at the matched path (for `strip_path`), and run the route's pipeline.
 */
import { BadRequestError } from '../core/errors';
import type { GatewayContext } from '../core/gateway-context';
import { runGateway } from '../core/host';
import type { NodeRequestView } from '../core/node-request';
import type { BuiltRoute } from './build';
import { Router } from './router';

/** Kong's body for a request no route matches. */
export const NO_ROUTE = 'no Route matched with those values';

/** The host name (lower-cased, without port) and the port of a Host header value. */
function splitHost(value: string, localPort: number | undefined): { host: string; port: number | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(value.trim().toLowerCase());
  if (!m) return { host: value.toLowerCase(), port: localPort };
  return { host: m[1]!.replace(/\.$/, ''), port: m[2] === undefined ? localPort : Number(m[2]) };
}

/** Routes requests to the routes of one file. */
export class Dispatcher {
  private readonly router: Router<BuiltRoute>;

  constructor(routes: readonly BuiltRoute[]) {
    this.router = new Router(routes.map((route) => ({ plan: route.plan, route })));
  }

  /**
   * Routes and runs the access phase. Leaves `ctx.answer` set when tollgate answered; unset when
   * the request goes on (a route without a service: the app's handlers).
   *
   * @param localPort - the port the connection arrived on, for `hosts` entries with a port
   */
  handle(ctx: GatewayContext, localPort: number | undefined): void | Promise<void> {
    const view = ctx.request as NodeRequestView<unknown>;
    if (view.outsideMount) {
      ctx.fail(new BadRequestError('The request path leaves the path this gateway is mounted on'));
      return;
    }
    const { host, port } = splitHost(view.host, localPort);
    const match = this.router.match({ method: view.method, path: view.path, host, port, header: (name) => view.header(name) });
    if (match === undefined) {
      ctx.exit(404, { message: NO_ROUTE, ...(ctx.requestId ? { request_id: ctx.requestId } : {}) });
      return;
    }
    const { plan, pipeline } = match.route;
    if (plan.httpsOnly !== undefined && view.protocol !== 'https') {
      if (plan.httpsOnly === 426) {
        ctx.exit(426, { message: 'Please use HTTPS protocol', ...(ctx.requestId ? { request_id: ctx.requestId } : {}) }, { Upgrade: 'TLS/1.2, HTTP/1.1' });
      } else {
        const search = view.search === '' ? '' : `?${view.search}`;
        ctx.exit(plan.httpsOnly, undefined, { Location: `https://${host}${view.originalPath}${search}` });
      }
      return;
    }
    // Kong strips the matched part of the path; a trailing slash of it stays with the rest.
    const matched = match.matched ?? '';
    const stripped = matched.length > 1 && matched.endsWith('/') ? matched.slice(0, -1) : matched === '/' ? '' : matched;
    view.anchorAt(view.mountPath + stripped, plan.name);
    return runGateway(pipeline, ctx);
  }
}
