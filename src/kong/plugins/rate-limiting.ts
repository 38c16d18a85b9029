/**
 * Kong's rate-limiting plugin → `rateLimit()`.
 *
 * Counters are scoped to the Kong plugin instance (its `namespace`), as Kong keys them by the
 * route or service the plugin is attached to: a service-scoped limit is one budget across the
 * service's routes, a global one across all routes.
 *
 * @see https://developer.konghq.com/plugins/rate-limiting/reference/
 */
import { rateLimit, type RateLimitOptions } from '../../plugins/rate-limit';
import { parseRateLimitOptions } from '../../plugins/rate-limit/options';
import { ConfigReader, OneOf, type Defaults } from './reader';
import { describeCall, type Translator } from './translation';

const WINDOWS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
const LIMIT_BY = ['consumer', 'credential', 'ip', 'header', 'path'] as const;

const DEFAULTS: Defaults = {
  sync_rate: -1,
  'redis.port': 6379,
  'redis.timeout': 2000,
  'redis.database': 0,
  'redis.ssl': false,
  'redis.ssl_verify': new OneOf(true, false),
  'redis.cloud_authentication.aws_is_serverless': true,
  redis_port: 6379,
  redis_timeout: 2000,
  redis_database: 0,
  redis_ssl: false,
  redis_ssl_verify: new OneOf(true, false),
};

/** Kong's `redis` record (or the deprecated flat `redis_*` fields) as a `redis://` URL. */
function redisUrl(r: ConfigReader): { url: string; commandTimeout: number } | undefined {
  const field = (name: string): unknown => {
    const nested = r.take(`redis.${name}`);
    const flat = r.take(`redis_${name}`);
    return nested ?? flat;
  };
  const host = field('host');
  if (typeof host !== 'string' || host === '') {
    r.invalid('redis.host', 'is required with policy: redis');
    return undefined;
  }
  const port = (field('port') as number | undefined) ?? 6379;
  const database = (field('database') as number | undefined) ?? 0;
  const ssl = field('ssl') === true;
  const username = field('username') as string | undefined;
  const password = field('password') as string | undefined;
  const timeout = (field('timeout') as number | undefined) ?? 2000;
  const verify = field('ssl_verify');
  if (ssl && verify === false) r.unsupported('redis.ssl_verify', 'tollgate always verifies the Redis server certificate; pass your own ioredis client to rateLimit() to change that');
  for (const name of ['server_name']) {
    if (field(name) !== undefined) r.unsupported(`redis.${name}`, 'set the TLS server name on your own ioredis client (rateLimit({ redis: { client } }))');
  }
  const auth = password === undefined ? '' : `${encodeURIComponent(username ?? '')}:${encodeURIComponent(password)}@`;
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return { url: `${ssl ? 'rediss' : 'redis'}://${auth}${bracketed}:${port}/${database}`, commandTimeout: timeout };
}

export const rateLimiting: Translator = ({ path, config, findings, instanceKey }) => {
  const r = new ConfigReader(`${path}.config`, config, findings, DEFAULTS);
  const options: RateLimitOptions = { namespace: `kong:${instanceKey}` };
  for (const w of WINDOWS) {
    const value = r.take(w);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0)) {
      r.invalid(w, 'must be a number greater than 0');
      continue;
    }
    options[w] = Math.ceil(value);
    // Kong lets a request through while usage < limit, so a fractional limit allows its ceiling.
    if (!Number.isInteger(value)) r.translated(w, `${value} allows ${Math.ceil(value)} requests a ${w}, as in Kong; the headers show ${Math.ceil(value)}`);
  }
  if (WINDOWS.every((w) => options[w] === undefined)) r.invalid('minute', 'set at least one of second, minute, hour, day, month, year');

  const limitBy = r.take('limit_by');
  if (limitBy !== undefined) {
    if ((LIMIT_BY as readonly unknown[]).includes(limitBy)) options.limitBy = limitBy as RateLimitOptions['limitBy'];
    else if (limitBy === 'service') r.unsupported('limit_by', "tollgate's limitBy 'service' counts per mount path, not per Kong service; left out, requests are counted by consumer");
    else r.unsupported('limit_by', `${JSON.stringify(limitBy)} is not supported (consumer, credential, ip, header, path are); left out, requests are counted by consumer`);
  }
  const headerName = r.take('header_name');
  if (headerName !== undefined && options.limitBy === 'header') options.headerName = headerName as string;
  const limitPath = r.take('path');
  if (limitPath !== undefined && options.limitBy === 'path') options.path = limitPath as string;

  const policy = r.take('policy');
  if (policy === 'redis') {
    const redis = redisUrl(r);
    if (redis) {
      options.policy = 'redis';
      options.redis = redis;
    }
  } else if (policy === 'cluster') {
    r.unsupported('policy', "'cluster' keeps counters in Kong's database; use 'redis' (or 'local'); left out, counters are local");
  } else if (policy !== undefined && policy !== 'local') {
    r.invalid('policy', 'must be local, cluster or redis');
  }
  const syncRate = r.take('sync_rate');
  if (syncRate !== undefined && syncRate !== -1) r.unsupported('sync_rate', 'tollgate counts synchronously (sync_rate -1); left out');

  for (const [kong, ours] of [
    ['fault_tolerant', 'faultTolerant'],
    ['hide_client_headers', 'hideClientHeaders'],
    ['error_code', 'errorCode'],
    ['error_message', 'errorMessage'],
  ] as const) {
    const value = r.take(kong);
    if (value !== undefined) (options as Record<string, unknown>)[ours] = value;
  }
  r.rest((key) =>
    key.startsWith('redis') ? `${key} is not supported for tollgate's Redis connection; left out` : `${key} is not a rate-limiting field tollgate supports; left out`,
  );

  return {
    summary: describeCall('rateLimit', options),
    share: 'instance',
    validate: () => void parseRateLimitOptions(options),
    build: ({ now }) => rateLimit({ ...options, now }),
  };
};
