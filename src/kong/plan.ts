/**
 * A decK file read into what tollgate runs: the consumer registry, each route with its service,
 * and per route the Kong plugins that apply to it, chosen with Kong's precedence. Nothing is
 * built here (no plugin, no connection): `tollgate kong check` stops at the plan.
 *
 * @see https://developer.konghq.com/gateway/entities/plugin/#plugin-precedence
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors';
import { consumers as consumerRegistry, type ConsumerDefinition, type ConsumerRegistry } from '../core/consumers';
import { CONSUMER_CREDENTIALS, label, readEntities, type ConsumerEntity, type PluginEntity, type RouteEntity } from './entities';
import { checkFields } from './fields';
import { Findings } from './findings';
import { CONSUMER_SCOPED, TRANSLATORS, type PluginPlan } from './plugins';
import { planRoute, type RoutePlan } from './routes';
import { planServices } from './services';

/** One Kong plugin instance tollgate can run. */
export interface PluginInstance {
  readonly entity: PluginEntity;
  readonly plan: PluginPlan;
}

/**
 * One Kong plugin (by name) on one route: the instance for requests without a consumer-specific
 * one, and the instance each consumer gets where that differs.
 */
export interface PluginSlot {
  readonly name: string;
  readonly fallback?: PluginInstance;
  readonly byConsumer: ReadonlyMap<string, PluginInstance>;
}

/** A route with the plugins that apply to it. */
export interface PlannedRoute {
  readonly plan: RoutePlan;
  readonly slots: readonly PluginSlot[];
}

/** The whole file. */
export interface KongPlan {
  readonly findings: Findings;
  readonly consumers: ConsumerRegistry;
  readonly routes: readonly PlannedRoute[];
}

/**
 * A stable id for a consumer the file gives none: a name-based UUID (RFC 9562 v5) of its username
 * and custom_id, so `X-Consumer-ID` looks like Kong's and is the same in every process, and a
 * consumer id never equals a claim value by accident.
 */
function consumerUuid(username: string | undefined, customId: string | undefined): string {
  const h = createHash('sha1').update(`tollgate/kong consumer\n${username ?? ''}\n${customId ?? ''}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function planConsumers(entities: readonly ConsumerEntity[], findings: Findings): { registry: ConsumerRegistry; idOf: Map<ConsumerEntity, string> } {
  const credentials = Object.fromEntries(CONSUMER_CREDENTIALS.map((k) => [k, [[], `${k} belong to a plugin tollgate does not have; left out`] as const]));
  const definitions: ConsumerDefinition[] = entities.map((c) => {
    checkFields(c.path, c.raw, ['username', 'custom_id', 'plugins'], { ...credentials, groups: [[], 'consumer groups are Kong Enterprise; left out'] }, findings);
    const username = typeof c.raw.username === 'string' ? c.raw.username : undefined;
    const customId = typeof c.raw.custom_id === 'string' ? c.raw.custom_id : undefined;
    const id = typeof c.raw.id === 'string' ? c.raw.id : consumerUuid(username, customId);
    return { id, ...(username !== undefined ? { username } : {}), ...(customId !== undefined ? { customId } : {}) };
  });
  try {
    const registry = consumerRegistry(definitions);
    const idOf = new Map(entities.map((c, i) => [c, definitions[i]!.id!]));
    entities.forEach((c, i) => findings.supported(c.path, `${label('consumer', c)}: id ${definitions[i]!.id}`));
    return { registry, idOf };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    findings.invalid(`consumers${err.option.replace('customId', 'custom_id')}`, err.message.replace(/^consumers: /, ''));
    return { registry: consumerRegistry([]), idOf: new Map() };
  }
}

/** The plugin instance's scope, for people and for rate-limit namespaces. */
function scopeOf(p: PluginEntity, consumerId: string | undefined): string {
  const name = (e: { path: string; raw: Readonly<Record<string, unknown>> } | undefined) => (e === undefined ? '*' : typeof e.raw.name === 'string' ? e.raw.name : e.path);
  return `${name(p.service)}/${name(p.route)}/${consumerId ?? '*'}`;
}

function planPlugin(p: PluginEntity, registry: ConsumerRegistry, consumerId: string | undefined, findings: Findings): PluginPlan | undefined {
  checkFields(p.path, p.raw, ['config', 'enabled', 'service', 'route', 'consumer', 'protocols'], {
    consumer_group: [[], 'consumer groups are Kong Enterprise; left out'],
    ordering: [[], 'dynamic plugin ordering is Kong Enterprise; left out, the plugin runs at its usual priority'],
    partials: [[], 'partials are Kong Enterprise; left out'],
  }, findings);
  if (p.raw.enabled === false) {
    findings.supported(p.path, `${label('plugin', p)}: enabled: false, not run (as in Kong)`);
    return undefined;
  }
  const protocols = p.raw.protocols;
  if (Array.isArray(protocols) && protocols.length > 0 && !(protocols.includes('http') && protocols.includes('https'))) {
    findings.unsupported(`${p.path}.protocols`, 'a plugin cannot be limited to some protocols; left out, it runs for http and https requests alike');
  }
  if (p.consumer !== undefined && !CONSUMER_SCOPED.has(p.name) && p.name in TRANSLATORS) {
    findings.invalid(`${p.path}.consumer`, `${p.name} cannot be bound to a consumer (it is the plugin that finds the consumer)`);
    return undefined;
  }
  const translate = TRANSLATORS[p.name];
  if (translate === undefined) {
    findings.unsupported(p.path, `plugin ${p.name}: tollgate has no such plugin; left out`);
    return undefined;
  }
  const config = p.raw.config ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    findings.invalid(`${p.path}.config`, 'must be an object');
    return undefined;
  }
  const instanceKey = typeof p.raw.id === 'string' ? p.raw.id : `${p.name}:${scopeOf(p, consumerId)}`;
  const plan = translate({ path: p.path, config: config as Record<string, unknown>, findings, consumers: registry, instanceKey });
  if (plan === undefined) return undefined;
  try {
    plan.validate();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // tollgate's own check (Kong's schema refuses some of these too, not all): the plugin cannot run.
    findings.unsupported(`${p.path}.config`, `${err.message} (as tollgate reads it: ${plan.summary}); the plugin is left out`);
    return undefined;
  }
  findings.supported(p.path, `${label('plugin', p)} → ${plan.summary}`);
  return plan;
}

/** Kong's precedence, most specific first: consumer+route+service … global. */
const PRECEDENCE = ['crs', 'cr', 'cs', 'rs', 'c', 'r', 's', ''];

/** Where an instance stands for a request on `route` by `consumer`, or -1 when it does not apply. */
function rank(instance: PluginInstance, route: RouteEntity, consumer: ConsumerEntity | undefined): number {
  const e = instance.entity;
  if (e.route !== undefined && e.route !== route) return -1;
  if (e.service !== undefined && e.service !== route.service) return -1;
  if (e.consumer !== undefined && e.consumer !== consumer) return -1;
  return PRECEDENCE.indexOf(`${e.consumer ? 'c' : ''}${e.route ? 'r' : ''}${e.service ? 's' : ''}`);
}

function best(instances: readonly PluginInstance[], route: RouteEntity, consumer: ConsumerEntity | undefined): PluginInstance | undefined {
  let chosen: PluginInstance | undefined;
  let chosenRank = Infinity;
  for (const i of instances) {
    const r = rank(i, route, consumer);
    if (r !== -1 && r < chosenRank) [chosen, chosenRank] = [i, r];
  }
  return chosen;
}

/** Reads a parsed decK file into a plan; everything found goes to the plan's findings. */
export function planKong(doc: Readonly<Record<string, unknown>>): KongPlan {
  const findings = new Findings();
  const entities = readEntities(doc, findings);
  const { registry, idOf } = planConsumers(entities.consumers, findings);
  const services = planServices(entities.services, entities.upstreams, findings);

  const instances: PluginInstance[] = [];
  const seen = new Map<string, PluginEntity>();
  for (const entity of entities.plugins) {
    // An unresolved reference keeps its raw value, so it is not mistaken for "no reference".
    const ref = (kind: 'service' | 'route' | 'consumer') => entity[kind]?.path ?? JSON.stringify(entity.raw[kind] ?? null);
    const key = [entity.name, ref('service'), ref('route'), ref('consumer')].join('|');
    const twin = seen.get(key);
    if (twin !== undefined) {
      findings.invalid(entity.path, `a second ${entity.name} with the same service, route and consumer as ${twin.path}`);
      continue;
    }
    seen.set(key, entity);
    const plan = planPlugin(entity, registry, entity.consumer ? idOf.get(entity.consumer) : undefined, findings);
    if (plan !== undefined) instances.push({ entity, plan });
  }

  const routes: PlannedRoute[] = [];
  for (const entity of entities.routes) {
    const service = entity.service === undefined ? undefined : services.get(entity.service);
    if (service !== undefined && !service.enabled) continue;
    if (service !== undefined && service.proxy === undefined) {
      findings.unsupported(entity.path, `${label('route', entity)}: its service ${service.name} cannot run; the route is left out`);
      continue;
    }
    const plan = planRoute(entity, service, findings);
    if (plan === undefined) continue;
    const slots: PluginSlot[] = [];
    for (const name of new Set(instances.map((i) => i.entity.name))) {
      const candidates = instances.filter((i) => i.entity.name === name && rank(i, entity, i.entity.consumer) !== -1);
      if (candidates.length === 0) continue;
      const fallback = best(candidates, entity, undefined);
      const byConsumer = new Map<string, PluginInstance>();
      for (const c of new Set(candidates.flatMap((i) => (i.entity.consumer ? [i.entity.consumer] : [])))) {
        const chosen = best(candidates, entity, c);
        if (chosen !== undefined && chosen !== fallback) byConsumer.set(idOf.get(c)!, chosen);
      }
      if (fallback === undefined && byConsumer.size === 0) continue;
      slots.push({ name, ...(fallback ? { fallback } : {}), byConsumer });
    }
    if (slots.length > 0) {
      const describe = (s: PluginSlot) => {
        const perConsumer = [...s.byConsumer].map(([id, i]) => `${registry.find(id, ['id'])?.username ?? id}: ${i.entity.path}`);
        return `${s.name} (${[s.fallback ? s.fallback.entity.path : 'no default', ...perConsumer].join('; ')})`;
      };
      findings.supported(`${entity.path}`, `runs ${slots.map(describe).join(', ')}`);
    }
    routes.push({ plan, slots });
  }
  return { findings, consumers: registry, routes };
}
