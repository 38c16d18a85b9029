/**
 * Kong's proxy-cache plugin → `proxyCache()`, one per route: Kong keys entries by route (and
 * consumer), so a service-scoped or global instance never serves one route's entry to another.
 *
 * @see https://developer.konghq.com/plugins/proxy-cache/reference/
 */
import { proxyCache, type ProxyCacheOptions } from '../../plugins/proxy-cache';
import { parseProxyCacheOptions } from '../../plugins/proxy-cache/options';
import { ConfigReader, type Defaults } from './reader';
import { describeCall, type Translator } from './translation';

const DEFAULTS: Defaults = {
  'memory.dictionary_name': 'kong_db_cache',
};

export const proxyCacheTranslator: Translator = ({ path, config, findings }) => {
  const r = new ConfigReader(`${path}.config`, config, findings, DEFAULTS);
  const options: ProxyCacheOptions = { strategy: 'memory' };
  const strategy = r.take('strategy');
  if (strategy === undefined) r.invalid('strategy', 'is required (memory)');
  else if (strategy === 'redis') r.unsupported('strategy', "'redis' is proxy-cache-advanced (Enterprise); left out, entries are kept in memory");
  else if (strategy !== 'memory') r.invalid('strategy', 'must be memory');

  const dictionary = r.take('memory.dictionary_name');
  if (dictionary !== undefined && dictionary !== 'kong_db_cache') {
    r.translated('memory.dictionary_name', 'tollgate keeps each route\'s entries in its own in-memory store (lru-cache, 64 MiB), not in an nginx shared dict');
  }
  const copy: [string, keyof ProxyCacheOptions][] = [
    ['response_code', 'responseCode'],
    ['request_method', 'requestMethod'],
    ['content_type', 'contentType'],
    ['cache_ttl', 'cacheTtl'],
    ['storage_ttl', 'storageTtl'],
    ['cache_control', 'cacheControl'],
    ['ignore_uri_case', 'ignoreUriCase'],
    ['vary_query_params', 'varyQueryParams'],
    ['vary_headers', 'varyHeaders'],
  ];
  for (const [kong, ours] of copy) {
    const value = r.take(kong);
    if (value !== undefined) (options as Record<string, unknown>)[ours] = value;
  }
  const headers: NonNullable<ProxyCacheOptions['responseHeaders']> = {};
  for (const [kong, ours] of [
    ['age', 'age'],
    ['X-Cache-Status', 'xCacheStatus'],
    ['X-Cache-Key', 'xCacheKey'],
  ] as const) {
    const value = r.take(`response_headers.${kong}`);
    if (value !== undefined) headers[ours] = value as boolean;
  }
  if (Object.keys(headers).length > 0) options.responseHeaders = headers;
  findings.translated(
    `${path}.config.content_type`,
    "a response's Content-Type matches an entry ignoring parameters the entry does not name (Kong compares them exactly)",
  );
  r.rest((key) => `${key} is not a proxy-cache field tollgate supports; left out`);

  return {
    summary: describeCall('proxyCache', options),
    share: 'route',
    validate: () => void parseProxyCacheOptions(options),
    build: () => proxyCache(options),
  };
};
