/**
 * The context's view of Node's request (HTTP/1 or HTTP/2 compatibility), for every host adapter.
 */
import type { NodeRequest, RequestView } from './context';
import { normalizePath, underMount } from './path';

/**
 * How an adapter answers what only the framework knows (the client ip and protocol honour its
 * trust-proxy setting). Called lazily and at most once per request: `req.ip` in Express parses
 * X-Forwarded-For, and most requests through an auth-only gateway never need it.
 */
export interface FrameworkFacts<O> {
  ip(origin: O): string;
  protocol(origin: O): string;
  host(origin: O): string;
  /** The route pattern the framework matched below the mount prefix (`/users/:id`), or ''. */
  route(origin: O): string;
}

/** Parses a query string without `?`; repeated names become arrays. */
export function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  if (!search) return out;
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** A {@link RequestView} over Node's request. */
export class NodeRequestView<O> implements RequestView {
  readonly method: string;
  readonly originalPath: string;
  search: string;
  path = '/';
  mountPath = '';
  /** Whether the normal path left the mount prefix the framework matched on the raw one. */
  outsideMount = false;
  private parsedQuery?: Record<string, string | string[]>;
  private cachedIp?: string;
  private cachedProtocol?: string;
  private cachedHost?: string;
  private cachedRoute?: string;

  /**
   * @param mountPath - the prefix the gateway is mounted under, as the framework matched it
   * @param originalUrl - the client's URL (path and query) before any mount stripping
   */
  constructor(
    private readonly req: NodeRequest,
    private readonly origin: O,
    private readonly facts: FrameworkFacts<O>,
    mountPath: string,
    originalUrl: string,
  ) {
    this.method = (req.method ?? 'GET').toUpperCase();
    const q = originalUrl.indexOf('?');
    this.originalPath = normalizePath(q === -1 ? originalUrl : originalUrl.slice(0, q));
    this.search = q === -1 ? '' : originalUrl.slice(q + 1);
    this.anchor(mountPath);
  }

  /** Sets the mount prefix this view is relative to (a later gateway may be mounted elsewhere). */
  anchor(mountPath: string): void {
    const mount = mountPath === '' ? '' : normalizePath(mountPath);
    const relative = underMount(this.originalPath, mount);
    this.mountPath = mount;
    this.cachedRoute = undefined;
    this.outsideMount = relative === undefined;
    this.path = relative ?? '/';
  }

  /**
   * Anchors this view where a router that matches on the normal path itself matched (tollgate/kong):
   * unlike a framework's mount, `prefix` need not end at a segment boundary — Kong's route path
   * `/foo` also matches `/foobar`, whose path is then `/bar` — and `route` names what matched.
   *
   * @param prefix - a prefix of `originalPath`
   */
  anchorAt(prefix: string, route: string): void {
    const rest = this.originalPath.slice(prefix.length);
    this.mountPath = prefix;
    this.path = rest === '' ? '/' : rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
    this.outsideMount = false;
    this.cachedRoute = route;
  }

  get ip() {
    return (this.cachedIp ??= this.facts.ip(this.origin));
  }
  get protocol() {
    return (this.cachedProtocol ??= this.facts.protocol(this.origin));
  }
  get host() {
    return (this.cachedHost ??= this.facts.host(this.origin));
  }
  get route() {
    return (this.cachedRoute ??= this.mountPath + this.facts.route(this.origin) || '/');
  }
  get headers() {
    return this.req.headers;
  }
  get query() {
    return (this.parsedQuery ??= parseQuery(this.search));
  }
  header(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  setHeader(name: string, value: string): void {
    this.req.headers[name.toLowerCase()] = value;
  }
  removeHeader(name: string): void {
    delete this.req.headers[name.toLowerCase()];
  }
  setSearch(search: string): void {
    this.search = search.replace(/^\?/, '');
    this.parsedQuery = undefined;
  }
}
