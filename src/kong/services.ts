/**
 * Kong services (and the upstreams with targets they may name) → `upstreamProxy()` options.
 * A route adds its own `strip_path` and `preserve_host` when the proxy is built.
 *
 * @see https://developer.konghq.com/gateway/entities/service/
 * @see https://developer.konghq.com/gateway/entities/upstream/
 */
import type { UpstreamProxyOptions } from '../plugins/upstream-proxy';
import type { ServiceEntity, UpstreamEntity } from './entities';
import { label } from './entities';
import { checkFields } from './fields';
import type { Findings } from './findings';
import { describeCall } from './plugins/translation';

/** A service as tollgate runs it: its proxy options, or undefined when it cannot run. */
export interface ServicePlan {
  readonly entity: ServiceEntity;
  readonly name: string;
  readonly proxy?: Omit<UpstreamProxyOptions, 'stripPath' | 'preserveHost'>;
  readonly enabled: boolean;
}

const TLS_ONLY = "are not supported: tollgate verifies upstream certificates with Node's trust store (pass your own https.Agent to upstreamProxy for more); left out";

const SERVICE_UNSUPPORTED: Readonly<Record<string, readonly [readonly unknown[], string]>> = {
  tls_verify: [[true], `tls_verify: false ${TLS_ONLY}`],
  tls_verify_depth: [[], `tls_verify_depth ${TLS_ONLY}`],
  ca_certificates: [[], `ca_certificates ${TLS_ONLY}`],
  client_certificate: [[], `client certificates ${TLS_ONLY}`],
};

const ms = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Splits Kong's target (`host:port`, `[::1]:8080`, `host` → port 8000). */
function splitTarget(target: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(target);
  if (!m) return undefined;
  return { host: m[1]!, port: m[2] === undefined ? 8000 : Number(m[2]) };
}

/** An upstream's targets and passive health checks, as upstreamProxy options for one service. */
function planUpstream(upstream: UpstreamEntity, protocol: string, basePath: string, findings: Findings): Pick<UpstreamProxyOptions, 'targets' | 'healthchecks'> | undefined {
  const raw = upstream.raw;
  checkFields(upstream.path, raw, ['name', 'targets', 'algorithm', 'healthchecks', 'slots'], {
    hash_on: [['none'], 'consistent hashing is not supported (targets are used round-robin); left out'],
    hash_fallback: [['none'], 'consistent hashing is not supported; left out'],
    hash_on_header: [[], 'consistent hashing is not supported; left out'],
    hash_fallback_header: [[], 'consistent hashing is not supported; left out'],
    hash_on_cookie: [[], 'consistent hashing is not supported; left out'],
    hash_on_cookie_path: [['/'], 'consistent hashing is not supported; left out'],
    hash_on_query_arg: [[], 'consistent hashing is not supported; left out'],
    hash_fallback_query_arg: [[], 'consistent hashing is not supported; left out'],
    hash_on_uri_capture: [[], 'consistent hashing is not supported; left out'],
    hash_fallback_uri_capture: [[], 'consistent hashing is not supported; left out'],
    host_header: [[], 'host_header is not supported (the target host, or the client\'s with preserve_host, is sent); left out'],
    client_certificate: [[], `client certificates ${TLS_ONLY}`],
    use_srv_name: [[false], 'SRV names are not resolved; left out'],
    sticky_sessions_cookie: [[], 'sticky sessions are not supported; left out'],
    sticky_sessions_cookie_path: [['/'], 'sticky sessions are not supported; left out'],
  }, findings);
  const algorithm = raw.algorithm ?? 'round-robin';
  if (algorithm !== 'round-robin') findings.unsupported(`${upstream.path}.algorithm`, `${JSON.stringify(algorithm)} is not supported (round-robin is); left out, targets are used round-robin`);

  const targets: { url: string; weight: number; path: string }[] = [];
  for (const t of upstream.targets) {
    checkFields(t.path, t.raw, ['target', 'weight', 'upstream'], {}, findings);
    const parts = typeof t.raw.target === 'string' ? splitTarget(t.raw.target) : undefined;
    if (parts === undefined) {
      findings.invalid(`${t.path}.target`, 'must be host:port');
      continue;
    }
    const weight = typeof t.raw.weight === 'number' ? t.raw.weight : 100;
    if (weight === 0) {
      findings.supported(t.path, `${label('target', t)}: weight 0, gets no traffic (as in Kong)`);
      continue;
    }
    targets.push({ url: `${protocol}://${parts.host}:${parts.port}${basePath}`, weight, path: t.path });
  }
  if (targets.length === 0) {
    findings.unsupported(upstream.path, 'has no target with a weight above 0 (Kong answers 503 "failure to get a peer from the ring-balancer"); its services are left out');
    return undefined;
  }
  const weights = new Set(targets.map((t) => t.weight));
  if (weights.size > 1) {
    findings.unsupported(`${upstream.path}.targets`, `weights ${[...weights].join(', ')}: tollgate balances round-robin without weights; left out, each target gets an equal share`);
  }
  for (const t of targets) findings.supported(t.path, `target ${t.url}`);

  const hc = (path: string): unknown => path.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), raw.healthchecks);
  const activeOn = ['active.healthy.interval', 'active.unhealthy.interval'].some((p) => typeof hc(p) === 'number' && (hc(p) as number) > 0);
  if (activeOn) findings.unsupported(`${upstream.path}.healthchecks.active`, 'active health checks (probes) are not supported; left out, passive checks only');
  const threshold = hc('threshold');
  if (typeof threshold === 'number' && threshold > 0) findings.unsupported(`${upstream.path}.healthchecks.threshold`, 'a healthy-weight threshold is not supported; left out');
  const successes = hc('passive.healthy.successes');
  if (typeof successes === 'number' && successes > 0) findings.unsupported(`${upstream.path}.healthchecks.passive.healthy.successes`, 'targets come back after a cooldown, not after successes; left out');
  // Kong's passive checks are off unless counters are set; tollgate's defaults are on, so Kong's are given.
  const count = (key: string) => (typeof hc(`passive.unhealthy.${key}`) === 'number' ? (hc(`passive.unhealthy.${key}`) as number) : 0);
  const statuses = hc('passive.unhealthy.http_statuses');
  const unhealthy = {
    tcpFailures: count('tcp_failures'),
    timeouts: count('timeouts'),
    httpFailures: count('http_failures'),
    ...(Array.isArray(statuses) ? { httpStatuses: statuses as number[] } : {}),
  };
  if (unhealthy.tcpFailures + unhealthy.timeouts + unhealthy.httpFailures > 0) {
    findings.translated(
      `${upstream.path}.healthchecks.passive`,
      'a target taken out by passive checks gets traffic again after 10 s (tollgate has no active probes; Kong keeps it out until an active check or the Admin API brings it back)',
    );
  }
  return { targets: targets.map((t) => t.url), healthchecks: { passive: { unhealthy } } };
}

/** Reads every service; a service that cannot run has no `proxy` (its routes are left out). */
export function planServices(services: readonly ServiceEntity[], upstreams: readonly UpstreamEntity[], findings: Findings): Map<ServiceEntity, ServicePlan> {
  const plans = new Map<ServiceEntity, ServicePlan>();
  services.forEach((entity) => {
    const raw = entity.raw;
    const name = typeof raw.name === 'string' ? raw.name : entity.path;
    checkFields(entity.path, raw, ['url', 'protocol', 'host', 'port', 'path', 'retries', 'connect_timeout', 'write_timeout', 'read_timeout', 'enabled', 'routes', 'plugins'], SERVICE_UNSUPPORTED, findings);
    // null is Kong's "unset" (a deck dump writes it for every empty field).
    let protocol = raw.protocol ?? undefined;
    let host = raw.host ?? undefined;
    let port = raw.port ?? undefined;
    let path = raw.path ?? undefined;
    if (typeof raw.url === 'string') {
      try {
        const url = new URL(raw.url);
        protocol = url.protocol.slice(0, -1);
        host = url.hostname.replace(/^\[(.*)\]$/, '$1');
        port = url.port === '' ? undefined : Number(url.port);
        // Kong treats no path and `/` alike (the upstream path starts at `/` either way).
        path = url.pathname === '/' ? undefined : url.pathname;
      } catch {
        findings.invalid(`${entity.path}.url`, `is not a URL: ${JSON.stringify(raw.url)}`);
        return;
      }
    }
    protocol ??= 'http';
    const enabled = raw.enabled !== false;
    if (protocol !== 'http' && protocol !== 'https') {
      findings.unsupported(`${entity.path}.protocol`, `${JSON.stringify(protocol)} services are not supported (http and https are); the service and its routes are left out`);
      plans.set(entity, { entity, name, enabled });
      return;
    }
    if (typeof host !== 'string' || host === '') {
      findings.invalid(`${entity.path}.host`, 'is required (or url)');
      plans.set(entity, { entity, name, enabled });
      return;
    }
    if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
      findings.invalid(`${entity.path}.path`, 'must start with /');
      path = undefined;
    }
    const basePath = (path as string | undefined) ?? '';
    const proxy: Omit<UpstreamProxyOptions, 'stripPath' | 'preserveHost'> = {};
    const upstream = upstreams.find((u) => u.raw.name === host);
    if (upstream !== undefined) {
      const balanced = planUpstream(upstream, protocol, basePath, findings);
      if (balanced === undefined) {
        plans.set(entity, { entity, name, enabled });
        return;
      }
      Object.assign(proxy, balanced);
    } else {
      const standard = protocol === 'https' ? 443 : 80;
      const p = typeof port === 'number' && port !== standard ? `:${port}` : '';
      proxy.url = `${protocol}://${host.includes(':') ? `[${host}]` : host}${p}${basePath}`;
    }
    const timeouts = { connectTimeout: ms(raw.connect_timeout), writeTimeout: ms(raw.write_timeout), readTimeout: ms(raw.read_timeout), retries: ms(raw.retries) };
    for (const [k, v] of Object.entries(timeouts)) if (v !== undefined) (proxy as Record<string, unknown>)[k] = v;
    if (!enabled) findings.supported(entity.path, `${label('service', entity)}: enabled: false, its routes are not matched (404, as in Kong)`);
    else findings.supported(entity.path, `${label('service', entity)} → ${describeCall('upstreamProxy', proxy)} (with each route's strip_path and preserve_host)`);
    plans.set(entity, { entity, name, enabled, proxy });
  });
  return plans;
}
