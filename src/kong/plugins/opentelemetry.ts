/**
 * Kong's opentelemetry plugin → `tollgate/otel`. Kong exports spans itself (OTLP to `endpoint`);
 * in process the app's own OpenTelemetry SDK does that, and tollgate's spans go to the provider
 * the SDK registered. `@opentelemetry/api` is an optional peer dependency, loaded only when a file
 * uses this plugin.
 *
 * @see https://developer.konghq.com/plugins/opentelemetry/reference/
 */
import { ConfigError } from '../../core/errors';
import { ConfigReader, OneOf, type Defaults } from './reader';
import { describeCall, type Translator } from './translation';

// Exporter settings are the SDK's business in process; their defaults pass silently.
const DEFAULTS: Defaults = {
  batch_span_count: new OneOf(200),
  batch_flush_delay: new OneOf(3),
  connect_timeout: 1000,
  read_timeout: 5000,
  send_timeout: 5000,
  header_type: new OneOf('preserve', 'w3c'),
  propagation: new OneOf({ default_format: 'w3c' }),
  'queue.max_batch_size': new OneOf(1, 200),
  'queue.max_coalescing_delay': new OneOf(1),
  'queue.max_entries': new OneOf(10000),
  'queue.max_retry_time': new OneOf(60),
  'queue.initial_retry_delay': new OneOf(0.01),
  'queue.max_retry_delay': new OneOf(60),
  'queue.concurrency_limit': new OneOf(1),
};

export const opentelemetryTranslator: Translator = ({ path, config, findings }) => {
  const r = new ConfigReader(`${path}.config`, config, findings, DEFAULTS);
  for (const key of ['endpoint', 'traces_endpoint', 'logs_endpoint', 'headers', 'resource_attributes']) {
    if (r.take(key) !== undefined) r.translated(key, "exporting is your OpenTelemetry SDK's job in process (an OTLP exporter on the provider it registers); tollgate's spans go to that provider");
  }
  const sampling = r.take('sampling_rate');
  if (sampling !== undefined && sampling !== 1) r.translated('sampling_rate', 'sampling is the SDK sampler\'s job (e.g. TraceIdRatioBasedSampler)');
  r.rest((key) => `${key} is not an opentelemetry field tollgate supports; left out`);
  const api = (): void => {
    try {
      require.resolve('@opentelemetry/api');
    } catch (err) {
      throw new ConfigError(`fromKong: ${path} (opentelemetry) needs the @opentelemetry/api package: npm install @opentelemetry/api`, path, { cause: err });
    }
  };
  return {
    summary: describeCall('otel', {}),
    share: 'instance',
    validate: api,
    build: () => {
      api();
      const { otel } = require('../../otel') as typeof import('../../otel');
      return otel();
    },
  };
};
