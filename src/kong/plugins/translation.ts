/**
 * The contract between the decK reader and one plugin's translator: the Kong plugin's `config`
 * in, a plan out that names tollgate's equivalent, checks its options without side effects (for
 * `tollgate kong check`, which must not open a Redis connection), and builds it.
 */
import type { ConsumerRegistry } from '../../core/consumers';
import type { AnyPlugin } from '../../core/plugin';
import type { Findings } from '../findings';

/** What a translator is given. */
export interface TranslateInput {
  /** The plugin entity's path in the file (`services[0].plugins[1]`). */
  readonly path: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly findings: Findings;
  /** The file's consumers, for consumer mapping. */
  readonly consumers: ConsumerRegistry;
  /** Identifies the Kong plugin instance (its `id`, else its scope), stable across processes. */
  readonly instanceKey: string;
}

/** What fromKong gives every plugin it builds, beyond the file. */
export interface BuildContext {
  /** The rate limiters' clock (fromKong's `now`), when the app passed one. */
  readonly now?: () => number;
}

/** tollgate's equivalent of one Kong plugin instance. */
export interface PluginPlan {
  /** tollgate's call, for the report (secrets masked). */
  readonly summary: string;
  /**
   * `instance`: one tollgate plugin serves every route the Kong plugin applies to (Kong scopes
   * rate-limit counters to the plugin's service or route); `route`: one per route (Kong keys
   * proxy-cache entries by route).
   */
  readonly share: 'instance' | 'route';
  /** Checks the options as the factory will, without side effects. @throws ConfigError */
  validate(): void;
  build(context: BuildContext): AnyPlugin;
}

/** Turns one Kong plugin's config into a plan, or undefined when it cannot run at all (findings say why). */
export type Translator = (input: TranslateInput) => PluginPlan | undefined;

const SECRET = /secret|password|authorization/i;

/** `factory({...})` with secret values masked, for the report. */
export function describeCall(factory: string, options: object): string {
  const json = JSON.stringify(options, (key, value: unknown) => {
    if (typeof value === 'string' && SECRET.test(key)) return '***';
    if (typeof value === 'string' && /^rediss?:\/\/[^@]*:[^@]*@/.test(value)) return value.replace(/\/\/([^:@]*):[^@]*@/, '//$1:***@');
    if (typeof value === 'object' && value !== null && value.constructor !== Object && !Array.isArray(value)) return `<${value.constructor.name}>`;
    return value;
  });
  return `${factory}(${json})`;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * How tollgate takes an identity provider's URL from a Kong file: https as it is; plain http only
 * on loopback (a local test issuer), where nothing crosses a network; `undefined` otherwise.
 */
export function issuerTransport(url: string): { allowInsecureIssuer?: true } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol === 'https:') return {};
  if (parsed.protocol === 'http:' && (LOOPBACK.has(parsed.hostname) || parsed.hostname.startsWith('127.'))) return { allowInsecureIssuer: true };
  return undefined;
}
