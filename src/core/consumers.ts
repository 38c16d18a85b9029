/**
 * The consumer registry: the consumers a gateway knows (Kong's consumer entities), looked up by
 * the value an auth plugin found in a credential. The OIDC plugin maps a token to a registered
 * consumer with it (Kong's `consumer_claim` + `consumer_by`), and that consumer's own plugins
 * (`perConsumer`) then apply: a "gold" client with a rate limit of its own.
 *
 * A registry is built once and never changes: lookups on the hot path are two Map reads, and a
 * principal cached for a token stays right for as long as it is cached.
 *
 * @see https://developer.konghq.com/gateway/entities/consumer/
 */
import type { Consumer } from './context';
import { ConfigError } from './errors';

/** One consumer as the application declares it. Kong requires at least one of `username` and `customId`. */
export interface ConsumerDefinition {
  /**
   * The id the consumer is known by: `ctx.consumer.id`, rate-limit counters, cache keys,
   * `perConsumer` keys and the `X-Consumer-ID` upstream header.
   * @defaultValue `username`, else `customId`
   */
  id?: string;
  /** Kong's `username`: unique among the registry's consumers. */
  username?: string;
  /** Kong's `custom_id` (an identity provider's client id, say): unique among the registry's consumers. */
  customId?: string;
}

/** A consumer field a credential's value is compared with (Kong's `consumer_by` values). */
export type ConsumerField = 'id' | 'username' | 'custom_id';

const FIELDS: readonly ConsumerField[] = ['id', 'username', 'custom_id'];
const KEYS = ['id', 'username', 'customId'];

/** The consumers of a gateway; made by {@link consumers}. */
export class ConsumerRegistry {
  readonly #byField: Readonly<Record<ConsumerField, ReadonlyMap<string, Consumer>>>;
  readonly #all: readonly Consumer[];

  /** @internal use {@link consumers}, which checks the definitions. */
  constructor(all: readonly Consumer[]) {
    const index = (key: keyof Consumer) => new Map(all.flatMap((c) => (c[key] === undefined ? [] : [[c[key], c] as const])));
    this.#all = Object.freeze([...all]);
    this.#byField = Object.freeze({ id: index('id'), username: index('username'), custom_id: index('customId') });
    Object.freeze(this);
  }

  /** How many consumers the registry holds. */
  get size(): number {
    return this.#all.length;
  }

  /** Every consumer, in the order they were declared. */
  list(): readonly Consumer[] {
    return this.#all;
  }

  /**
   * The consumer whose field equals `value`, trying the fields of `by` in order (Kong's
   * `consumer_by`), or undefined.
   *
   * @example
   * ```ts
   * registry.find('abc123', ['custom_id', 'username']); // the consumer with customId 'abc123', if any
   * ```
   */
  find(value: string, by: readonly ConsumerField[] = ['custom_id', 'username']): Consumer | undefined {
    for (const field of by) {
      const hit = this.#byField[field]?.get(value);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
}

/** Whether a value is a registry made by this copy of tollgate. */
export const isConsumerRegistry = (x: unknown): x is ConsumerRegistry => x instanceof ConsumerRegistry;

/** Whether `by` names only consumer fields. */
export const isConsumerField = (x: unknown): x is ConsumerField => (FIELDS as readonly unknown[]).includes(x);

const text = (value: unknown, path: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(`consumers: "${path}" must be a non-empty string, got ${typeof value === 'string' ? '""' : typeof value}`, path);
  }
  return value;
};

/**
 * Builds a consumer registry, checking every definition once: at least one of `username` and
 * `customId` (as in Kong), and no `id`, `username` or `customId` used twice.
 *
 * @example
 * ```ts
 * import { consumers, oidc, perConsumer, rateLimit } from 'tollgate';
 *
 * const registry = consumers([{ username: 'gold-partner', customId: 'auth0-client-id-of-gold' }]);
 * app.use('/api', gateway(
 *   oidc({ issuer, consumers: registry, consumerClaim: 'azp', consumerBy: ['custom_id'], consumerOptional: true }),
 *   perConsumer({ default: rateLimit({ minute: 5 }), consumers: { 'gold-partner': rateLimit({ minute: 1000 }) } }),
 * ));
 * ```
 * @throws ConfigError naming the definition (`[2].customId`) that is wrong or taken.
 * @see https://developer.konghq.com/gateway/entities/consumer/
 */
export function consumers(definitions: readonly ConsumerDefinition[]): ConsumerRegistry {
  if (!Array.isArray(definitions)) throw new ConfigError('consumers: expected an array of { id?, username?, customId? }', '');
  const seen = { id: new Map<string, number>(), username: new Map<string, number>(), customId: new Map<string, number>() };
  const all = definitions.map((d: unknown, i): Consumer => {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new ConfigError(`consumers: "[${i}]" must be an object`, `[${i}]`);
    for (const key of Object.keys(d)) {
      if (!KEYS.includes(key)) throw new ConfigError(`consumers: unknown option "[${i}].${key}" (a consumer has id, username and customId)`, `[${i}].${key}`);
    }
    const def = d as Record<string, unknown>;
    const username = text(def.username, `[${i}].username`);
    const customId = text(def.customId, `[${i}].customId`);
    if (username === undefined && customId === undefined) {
      throw new ConfigError(`consumers: "[${i}]" needs a "username" or a "customId" (or both)`, `[${i}]`);
    }
    const id = text(def.id, `[${i}].id`) ?? username ?? customId!;
    const values = { id, username, customId };
    for (const key of ['username', 'customId', 'id'] as const) {
      const value = values[key];
      if (value === undefined) continue;
      const other = seen[key].get(value);
      if (other !== undefined) {
        const hint = key === 'id' && def.id === undefined ? ' (give one of them an explicit "id")' : '';
        throw new ConfigError(`consumers: "[${i}].${key}" ${JSON.stringify(value)} is already the ${key} of "[${other}]"${hint}`, `[${i}].${key}`);
      }
      seen[key].set(value, i);
    }
    return Object.freeze({ id, ...(username !== undefined ? { username } : {}), ...(customId !== undefined ? { customId } : {}) });
  });
  return new ConsumerRegistry(all);
}
