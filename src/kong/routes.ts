/**
 * Kong routes → what the router matches (paths, methods, hosts, headers) and what the proxy does
 * with a match (`strip_path`, `preserve_host`, an HTTPS-only route's redirect).
 *
 * @see https://developer.konghq.com/gateway/entities/route/
 */
import type { RouteEntity } from './entities';
import { label } from './entities';
import { checkFields } from './fields';
import type { Findings } from './findings';
import type { ServicePlan } from './services';

/** One `hosts` entry: exact, `*.example.com` (suffix) or `example.*` (prefix), with an optional port. */
export interface HostRule {
  readonly kind: 'exact' | 'suffix' | 'prefix';
  readonly value: string;
  readonly port?: number;
}

/** One `headers` entry: the header must have one of the values (lower-cased), or match one of the `~*` regexes. */
export interface HeaderRule {
  readonly name: string;
  readonly values: readonly string[];
  readonly patterns: readonly RegExp[];
}

/** A route as the router and the proxy use it. */
export interface RoutePlan {
  readonly entity: RouteEntity;
  /** Names the route in `ctx.request.route`: its name, else its path in the file. */
  readonly name: string;
  readonly service?: ServicePlan;
  readonly stripPath: boolean;
  readonly preserveHost: boolean;
  readonly methods?: ReadonlySet<string>;
  readonly hosts?: readonly HostRule[];
  readonly headers?: readonly HeaderRule[];
  readonly prefixes: readonly string[];
  readonly regexes: readonly { readonly source: string; readonly re: RegExp }[];
  readonly regexPriority: number;
  /** The status for a plain-http request to an HTTPS-only route (426, or a redirect). */
  readonly httpsOnly?: number;
}

const REDIRECTS = [426, 301, 302, 307, 308];
const ROUTE_UNSUPPORTED: Readonly<Record<string, readonly [readonly unknown[], string]>> = {
  snis: [[], 'SNI matching happens in the TLS handshake, before tollgate sees the request; left out'],
  sources: [[], 'layer-4 source matching is not supported; left out'],
  destinations: [[], 'layer-4 destination matching is not supported; left out'],
  expression: [[], "expression routes (router_flavor = expressions) are not supported; use paths, methods, hosts and headers"],
  priority: [[0], 'priority belongs to expression routes; left out'],
  path_handling: [['v0'], "path_handling v1 is deprecated and ignored by Kong's default router; left out, v0 is used"],
};

const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');

/** Kong's host entry: `example.com`, `*.example.com`, `example.*`, each with an optional `:port`. */
function hostRule(entry: string): HostRule | undefined {
  const m = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase());
  const host = m?.[1] ?? '';
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  const stars = host.split('*').length - 1;
  if (host === '' || stars > 1) return undefined;
  const withPort = port === undefined ? {} : { port };
  if (host.startsWith('*.')) return { kind: 'suffix', value: host.slice(1), ...withPort };
  if (host.endsWith('.*')) return { kind: 'prefix', value: host.slice(0, -1), ...withPort };
  return stars === 0 ? { kind: 'exact', value: host, ...withPort } : undefined;
}

/** Kong's regex path (`~/status/\d+`, Rust syntax) as an anchored JavaScript RegExp. */
function regexOf(path: string): RegExp {
  // Kong anchors the pattern at the start (`^` + the path without `~`) and passes named groups to Rust as (?P<…>).
  return new RegExp(`^${path.slice(1).replace(/\(\?P</g, '(?<')}`);
}

/** Reads one route; undefined when it cannot be matched at all. */
export function planRoute(entity: RouteEntity, service: ServicePlan | undefined, findings: Findings): RoutePlan | undefined {
  const raw = entity.raw;
  const at = (key: string) => `${entity.path}.${key}`;
  checkFields(
    entity.path,
    raw,
    ['paths', 'methods', 'hosts', 'headers', 'strip_path', 'preserve_host', 'regex_priority', 'protocols', 'https_redirect_status_code', 'service', 'plugins', 'request_buffering', 'response_buffering'],
    ROUTE_UNSUPPORTED,
    findings,
  );
  let usable = true;

  const protocols = raw.protocols ?? ['http', 'https'];
  let httpsOnly: number | undefined;
  if (!isStrings(protocols) || protocols.length === 0) {
    findings.invalid(at('protocols'), 'must be a non-empty array of protocols');
  } else {
    const other = protocols.filter((p) => p !== 'http' && p !== 'https');
    if (other.length > 0) {
      findings.unsupported(at('protocols'), `${other.join(', ')} ${other.length === 1 ? 'is' : 'are'} not supported (http and https are)${other.length === protocols.length ? '; the route is left out' : '; left out'}`);
      if (other.length === protocols.length) usable = false;
    }
    if (protocols.includes('https') && !protocols.includes('http')) {
      httpsOnly = typeof raw.https_redirect_status_code === 'number' ? raw.https_redirect_status_code : 426;
      if (!REDIRECTS.includes(httpsOnly)) findings.invalid(at('https_redirect_status_code'), `must be one of ${REDIRECTS.join(', ')}`);
    }
  }

  const prefixes: string[] = [];
  const regexes: { source: string; re: RegExp }[] = [];
  const paths = raw.paths ?? [];
  if (!isStrings(paths)) findings.invalid(at('paths'), 'must be an array of strings');
  else {
    paths.forEach((p, i) => {
      if (p.startsWith('~')) {
        try {
          regexes.push({ source: p, re: regexOf(p) });
        } catch (err) {
          findings.unsupported(`${at('paths')}[${i}]`, `${JSON.stringify(p)} cannot be compiled as a JavaScript regular expression (${(err as Error).message}); left out`);
        }
      } else if (p.startsWith('/')) prefixes.push(p);
      else findings.invalid(`${at('paths')}[${i}]`, `must start with / (a prefix) or ~ (a regex), got ${JSON.stringify(p)}`);
    });
  }

  const rawMethods = raw.methods;
  let methods: Set<string> | undefined;
  if (rawMethods !== undefined && rawMethods !== null) {
    if (!isStrings(rawMethods)) findings.invalid(at('methods'), 'must be an array of method names');
    else if (rawMethods.length > 0) methods = new Set(rawMethods.map((m) => m.toUpperCase()));
  }

  let hosts: HostRule[] | undefined;
  if (raw.hosts !== undefined && raw.hosts !== null) {
    if (!isStrings(raw.hosts)) findings.invalid(at('hosts'), 'must be an array of host names');
    else if (raw.hosts.length > 0) {
      hosts = [];
      raw.hosts.forEach((h, i) => {
        const rule = hostRule(h);
        if (rule) hosts!.push(rule);
        else findings.invalid(`${at('hosts')}[${i}]`, `${JSON.stringify(h)} is not a host name (one * at its start or end at most)`);
      });
    }
  }

  let headers: HeaderRule[] | undefined;
  if (raw.headers !== undefined && raw.headers !== null) {
    if (typeof raw.headers !== 'object' || Array.isArray(raw.headers)) findings.invalid(at('headers'), 'must map header names to arrays of values');
    else {
      headers = [];
      for (const [name, values] of Object.entries(raw.headers)) {
        if (name.toLowerCase() === 'host') {
          findings.invalid(`${at('headers')}.${name}`, "cannot match host; use 'hosts'");
          continue;
        }
        if (!isStrings(values) || values.length === 0) {
          findings.invalid(`${at('headers')}.${name}`, 'must be a non-empty array of values');
          continue;
        }
        const patterns: RegExp[] = [];
        const plain: string[] = [];
        for (const v of values) {
          if (!v.startsWith('~*')) plain.push(v.toLowerCase());
          else {
            try {
              patterns.push(new RegExp(v.slice(2), 'i'));
            } catch (err) {
              findings.unsupported(`${at('headers')}.${name}`, `${JSON.stringify(v)} cannot be compiled as a JavaScript regular expression (${(err as Error).message}); left out`);
            }
          }
        }
        headers.push({ name: name.toLowerCase(), values: plain, patterns });
      }
      if (headers.length === 0) headers = undefined;
    }
  }

  // A route whose every path was left out must not widen to every path.
  if (isStrings(paths) && paths.length > 0 && prefixes.length === 0 && regexes.length === 0) {
    findings.unsupported(at('paths'), 'none of its paths can be matched; the route is left out');
    usable = false;
  }
  if (prefixes.length === 0 && regexes.length === 0 && !methods && !hosts && !headers) {
    if (!isStrings(paths) || paths.length === 0) findings.invalid(entity.path, 'must have at least one of paths, methods, hosts or headers');
    usable = false;
  }
  const regexPriority = typeof raw.regex_priority === 'number' ? raw.regex_priority : 0;
  const plan: RoutePlan = {
    entity,
    name: typeof raw.name === 'string' ? raw.name : entity.path,
    ...(service ? { service } : {}),
    stripPath: raw.strip_path !== false,
    preserveHost: raw.preserve_host === true,
    ...(methods ? { methods } : {}),
    ...(hosts ? { hosts } : {}),
    ...(headers ? { headers } : {}),
    prefixes,
    regexes,
    regexPriority,
    ...(httpsOnly !== undefined ? { httpsOnly } : {}),
  };
  if (!usable) return undefined;
  const what = [
    ...prefixes,
    ...regexes.map((r) => r.source),
    ...(methods ? [[...methods].join('|')] : []),
    ...(hosts ? [`hosts ${(raw.hosts as string[]).join(', ')}`] : []),
    ...(headers ? [`headers ${headers.map((h) => h.name).join(', ')}`] : []),
  ].join(' ');
  const target = service ? `service ${service.name}` : "the app's own handlers (Kong answers 503 without a service)";
  findings.supported(entity.path, `${label('route', entity)} matches ${what}${plan.stripPath ? ', strip_path' : ''}${plan.preserveHost ? ', preserve_host' : ''} → ${target}`);
  return plan;
}
