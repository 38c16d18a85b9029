/**
 * The entities of a decK file, flattened: nested routes, plugins and targets are lifted out with
 * their parent as reference, and top-level references (`service: my-svc`, `consumer: alice`) are
 * resolved by name, username or id. Every entity keeps its path in the file for the report.
 *
 * @see https://developer.konghq.com/deck/file/format/ — nesting and references
 */
import type { Findings } from './findings';

type Raw = Readonly<Record<string, unknown>>;

export interface ServiceEntity {
  readonly path: string;
  readonly raw: Raw;
}
export interface RouteEntity {
  readonly path: string;
  readonly raw: Raw;
  service?: ServiceEntity;
}
export interface ConsumerEntity {
  readonly path: string;
  readonly raw: Raw;
}
export interface PluginEntity {
  readonly path: string;
  readonly raw: Raw;
  readonly name: string;
  service?: ServiceEntity;
  route?: RouteEntity;
  consumer?: ConsumerEntity;
}
export interface UpstreamEntity {
  readonly path: string;
  readonly raw: Raw;
  readonly targets: TargetEntity[];
}
export interface TargetEntity {
  readonly path: string;
  readonly raw: Raw;
}

/** Everything `fromKong` runs, by kind. */
export interface Entities {
  readonly services: ServiceEntity[];
  readonly routes: RouteEntity[];
  readonly consumers: ConsumerEntity[];
  readonly plugins: PluginEntity[];
  readonly upstreams: UpstreamEntity[];
}

/** A reference as decK writes it: a name or id, or `{ id }` / `{ name }` / `{ username }`. */
type Ref = string | { id?: string; name?: string; username?: string };

const META_KEYS = new Set(['_transform', '_comment', '_ignore', '_workspace', '_konnect']);
const READ = new Set(['_format_version', '_info', 'services', 'routes', 'plugins', 'consumers', 'upstreams', 'targets']);
/** Top-level collections tollgate has nothing for. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  consumer_groups: 'consumer groups are Kong Enterprise; not supported',
  consumer_group_consumers: 'consumer groups are Kong Enterprise; not supported',
  consumer_group_plugins: 'consumer groups are Kong Enterprise; not supported',
  certificates: 'TLS termination belongs to the server tollgate runs in, not to tollgate',
  ca_certificates: 'TLS verification of upstreams uses Node\'s trust store; pass your own https.Agent to upstreamProxy',
  snis: 'TLS termination belongs to the server tollgate runs in, not to tollgate',
  vaults: 'vault references are not resolved; pass secrets with ${{ env "DECK_…" }}',
  keys: 'keys and key sets are not supported',
  key_sets: 'keys and key sets are not supported',
  partials: 'partials are Kong Enterprise; not supported',
  filter_chains: 'Wasm filter chains are not supported',
  custom_entities: 'custom entities are not supported',
  licenses: 'Kong licenses have no meaning in tollgate',
  workspaces: 'workspaces are Kong Enterprise; not supported',
  rbac_roles: 'RBAC is Kong Enterprise; not supported',
  rbac_endpoint_permissions: 'RBAC is Kong Enterprise; not supported',
  acls: 'the acl plugin is not supported',
  keyauth_credentials: 'the key-auth plugin is not supported',
  basicauth_credentials: 'the basic-auth plugin is not supported',
  jwt_secrets: 'the jwt plugin is not supported',
  hmacauth_credentials: 'the hmac-auth plugin is not supported',
  oauth2_credentials: 'the oauth2 plugin is not supported',
  mtls_auth_credentials: 'the mtls-auth plugin is not supported',
  parameters: 'Kong parameters have no meaning in tollgate',
  _plugin_configs: 'shared plugin configs (decK 1.x) are not supported; write the config into each plugin',
};
/** Credentials a consumer may carry, for plugins tollgate does not have. */
export const CONSUMER_CREDENTIALS = ['acls', 'keyauth_credentials', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'oauth2_credentials', 'mtls_auth_credentials'];

const isObject = (x: unknown): x is Raw => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The entities of an array field, each an object; anything else is invalid. */
function list(value: unknown, path: string, findings: Findings): { path: string; raw: Raw }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    findings.invalid(path, 'must be an array');
    return [];
  }
  return value.flatMap((raw, i) => {
    if (isObject(raw)) return [{ path: `${path}[${i}]`, raw }];
    findings.invalid(`${path}[${i}]`, 'must be an object');
    return [];
  });
}

/** Reads the file's entities and resolves their references; problems go to `findings`. */
export function readEntities(doc: Raw, findings: Findings): Entities {
  const format = doc._format_version;
  if (format === undefined || format === null) findings.invalid('_format_version', 'is required ("3.0")');
  else if (String(format) === '3' || String(format) === '3.0') findings.supported('_format_version', 'decK format 3.0');
  else if (['1.1', '2.1'].includes(String(format))) {
    findings.unsupported('_format_version', `${JSON.stringify(format)}: convert the file with \`deck file convert --from kong-gateway-2.x --to kong-gateway-3.x\` (regex paths then start with ~)`);
  } else findings.invalid('_format_version', `must be "3.0", got ${JSON.stringify(format)}`);

  const info = doc._info;
  if (isObject(info)) {
    for (const key of Object.keys(info)) {
      if (key === 'defaults' && info.defaults !== null && isObject(info.defaults) && Object.keys(info.defaults).length > 0) {
        findings.unsupported('_info.defaults', 'entity defaults are not applied; write the values into the entities');
      } else if (key !== 'defaults' && key !== 'select_tags' && key !== 'default_lookup_tags') {
        findings.unsupported(`_info.${key}`, 'unknown _info key');
      }
    }
  }
  for (const key of Object.keys(doc)) {
    if (READ.has(key) || META_KEYS.has(key)) continue;
    const value = doc[key];
    const empty = value === null || (Array.isArray(value) && value.length === 0);
    if (empty) continue;
    findings.unsupported(key, UNSUPPORTED[key] ?? 'unknown top-level key');
  }

  const services: ServiceEntity[] = [];
  const routes: RouteEntity[] = [];
  const consumers: ConsumerEntity[] = [];
  const plugins: PluginEntity[] = [];
  const upstreams: UpstreamEntity[] = [];
  const pending: { route: RouteEntity; ref: Ref }[] = [];
  const pendingPlugins: { plugin: PluginEntity; service?: Ref; route?: Ref; consumer?: Ref }[] = [];

  const addPlugins = (value: unknown, path: string, parent: Partial<Pick<PluginEntity, 'service' | 'route' | 'consumer'>>) => {
    for (const { path: p, raw } of list(value, path, findings)) {
      if (typeof raw.name !== 'string' || raw.name === '') {
        findings.invalid(`${p}.name`, 'is required');
        continue;
      }
      const plugin: PluginEntity = { path: p, raw, name: raw.name, ...parent };
      plugins.push(plugin);
      const refs = { service: refOf(raw.service), route: refOf(raw.route), consumer: refOf(raw.consumer) };
      for (const kind of ['service', 'route', 'consumer'] as const) {
        if (refs[kind] !== undefined && parent[kind] !== undefined) findings.invalid(`${p}.${kind}`, `is set on a plugin nested under a ${kind}`);
      }
      pendingPlugins.push({ plugin, ...refs });
    }
  };
  const addRoutes = (value: unknown, path: string, service: ServiceEntity | undefined) => {
    for (const { path: p, raw } of list(value, path, findings)) {
      const route: RouteEntity = { path: p, raw, ...(service ? { service } : {}) };
      routes.push(route);
      const ref = refOf(raw.service);
      if (ref !== undefined && service !== undefined) findings.invalid(`${p}.service`, 'is set on a route nested under a service');
      else if (ref !== undefined) pending.push({ route, ref });
      // A plugin nested under a route is bound to the route alone, as decK writes it (route: <id>).
      addPlugins(raw.plugins, `${p}.plugins`, { route });
    }
  };

  for (const { path, raw } of list(doc.services, 'services', findings)) {
    const service: ServiceEntity = { path, raw };
    services.push(service);
    addRoutes(raw.routes, `${path}.routes`, service);
    addPlugins(raw.plugins, `${path}.plugins`, { service });
  }
  addRoutes(doc.routes, 'routes', undefined);
  for (const { path, raw } of list(doc.consumers, 'consumers', findings)) {
    const consumer: ConsumerEntity = { path, raw };
    consumers.push(consumer);
    addPlugins(raw.plugins, `${path}.plugins`, { consumer });
  }
  addPlugins(doc.plugins, 'plugins', {});
  for (const { path, raw } of list(doc.upstreams, 'upstreams', findings)) {
    const upstream: UpstreamEntity = { path, raw, targets: list(raw.targets, `${path}.targets`, findings) };
    upstreams.push(upstream);
  }
  for (const { path, raw } of list(doc.targets, 'targets', findings)) {
    const ref = refOf(raw.upstream);
    const upstream = ref === undefined ? undefined : upstreams.find((u) => matches(u.raw, ref, ['name', 'id']));
    if (upstream === undefined) findings.invalid(`${path}.upstream`, ref === undefined ? 'is required for a top-level target' : `names no upstream of the file (${describeRef(ref)})`);
    else upstream.targets.push({ path, raw });
  }

  for (const { route, ref } of pending) {
    const service = services.find((s) => matches(s.raw, ref, ['name', 'id']));
    if (service === undefined) findings.invalid(`${route.path}.service`, `names no service of the file (${describeRef(ref)})`);
    else route.service = service;
  }
  for (const { plugin, service, route, consumer } of pendingPlugins) {
    if (service !== undefined) {
      plugin.service = services.find((s) => matches(s.raw, service, ['name', 'id']));
      if (!plugin.service) findings.invalid(`${plugin.path}.service`, `names no service of the file (${describeRef(service)})`);
    }
    if (route !== undefined) {
      plugin.route = routes.find((r) => matches(r.raw, route, ['name', 'id']));
      if (!plugin.route) findings.invalid(`${plugin.path}.route`, `names no route of the file (${describeRef(route)})`);
    }
    if (consumer !== undefined) {
      plugin.consumer = consumers.find((c) => matches(c.raw, consumer, ['username', 'id', 'custom_id']));
      if (!plugin.consumer) findings.invalid(`${plugin.path}.consumer`, `names no consumer of the file (${describeRef(consumer)})`);
    }
  }
  return { services, routes, consumers, plugins, upstreams };
}

function refOf(value: unknown): Ref | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (isObject(value)) {
    const { id, name, username } = value as { id?: unknown; name?: unknown; username?: unknown };
    const ref: { id?: string; name?: string; username?: string } = {};
    if (typeof id === 'string') ref.id = id;
    if (typeof name === 'string') ref.name = name;
    if (typeof username === 'string') ref.username = username;
    return Object.keys(ref).length > 0 ? ref : undefined;
  }
  return undefined;
}

function matches(raw: Raw, ref: Ref, keys: readonly string[]): boolean {
  if (typeof ref === 'string') return keys.some((k) => raw[k] === ref);
  return Object.entries(ref).every(([k, v]) => raw[k] === v);
}

const describeRef = (ref: Ref): string => (typeof ref === 'string' ? JSON.stringify(ref) : JSON.stringify(ref));

/** How an entity is named in a message: `service "httpbin"`, `plugin rate-limiting`, `target 10.0.0.1:8000`. */
export function label(kind: 'service' | 'route' | 'consumer' | 'plugin' | 'target', entity: { raw: Raw }): string {
  const raw = entity.raw;
  const name = kind === 'plugin' ? raw.name : kind === 'consumer' ? (raw.username ?? raw.custom_id) : kind === 'target' ? raw.target : raw.name;
  if (typeof name !== 'string') return kind;
  return kind === 'plugin' || kind === 'target' ? `${kind} ${name}` : `${kind} ${JSON.stringify(name)}`;
}
