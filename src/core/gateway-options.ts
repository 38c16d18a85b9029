/**
 * What a gateway takes besides its plugins. Every host's `gateway()` accepts these as an optional
 * first argument: `gateway({ logger }, oidc(...), rateLimit(...))`.
 */
import { ConfigError } from './errors';
import { isLogger, LOGGER_EXPECTED, type Logger } from './logger';
import type { AnyPlugin } from './plugin';

/** A gateway's own options. */
export interface GatewayOptions {
  /**
   * Where this gateway's plugins report (a failed plugin, an outage seen while serving a request),
   * instead of the process default set by `setLogger`. Plugins with a `logger` option of their own
   * use that one.
   * @defaultValue the logger `setLogger` set (console warnings and errors)
   */
  logger?: Logger;
}

const isPlugin = (x: unknown): boolean =>
  typeof x === 'object' && x !== null && typeof (x as AnyPlugin).name === 'string' && typeof (x as AnyPlugin).priority === 'number';

/** Splits `gateway(options?, ...plugins)` and checks the options once, when the gateway is built. */
export function gatewayArguments(args: readonly (GatewayOptions | AnyPlugin)[], where: string): { options: GatewayOptions; plugins: AnyPlugin[] } {
  const first = args[0];
  if (first === undefined || isPlugin(first) || typeof first !== 'object' || first === null) {
    return { options: {}, plugins: args as AnyPlugin[] };
  }
  const options = first as GatewayOptions;
  for (const key of Object.keys(options)) {
    if (key !== 'logger') throw new ConfigError(`${where}: unknown option "${key}" (a gateway takes { logger } and then plugins)`, key);
  }
  const logger = options.logger;
  if (logger !== undefined && !isLogger(logger)) {
    throw new ConfigError(`${where}: "logger" must be ${LOGGER_EXPECTED}`, 'logger');
  }
  return { options: Object.freeze({ ...options }), plugins: args.slice(1) as AnyPlugin[] };
}
