/**
 * Kong's prometheus plugin → `tollgate/prometheus`. Kong serves its metrics on its status API; in
 * process they are registered on prom-client's default registry (`require('prom-client').register`),
 * which the app exposes where it likes (`/metrics`). prom-client is an optional peer dependency,
 * loaded only when a file uses this plugin.
 *
 * @see https://developer.konghq.com/plugins/prometheus/reference/
 */
import { ConfigError } from '../../core/errors';
import { ConfigReader, type Defaults } from './reader';
import { describeCall, type Translator } from './translation';

// Kong 3.x's defaults: these only turn Kong's own metric families on or off; tollgate's plugin
// always records its requests, latencies and target health.
const DEFAULTS: Defaults = {
  status_code_metrics: false,
  latency_metrics: false,
  bandwidth_metrics: false,
  upstream_health_metrics: false,
  ai_metrics: false,
  wasm_metrics: false,
};

/** prom-client, loaded on first use. */
function promClient(path: string): typeof import('prom-client') {
  try {
    return require('prom-client') as typeof import('prom-client');
  } catch (err) {
    throw new ConfigError(`fromKong: ${path} (prometheus) needs the prom-client package: npm install prom-client`, path, { cause: err });
  }
}

export const prometheusTranslator: Translator = ({ path, config, findings }) => {
  const r = new ConfigReader(`${path}.config`, config, findings, DEFAULTS);
  const perConsumer = r.take('per_consumer') === true;
  for (const key of ['status_code_metrics', 'latency_metrics', 'upstream_health_metrics']) {
    if (r.take(key) === false) r.translated(key, 'recorded anyway: tollgate/prometheus always records requests by status, latencies and target health');
  }
  if (r.take('bandwidth_metrics') === true) r.unsupported('bandwidth_metrics', 'tollgate/prometheus has no bandwidth metric; left out');
  findings.translated(path, "metrics go to prom-client's default registry (require('prom-client').register): serve register.metrics() at your own /metrics");
  r.rest((key) => `${key} is not a prometheus field tollgate supports; left out`);
  return {
    summary: describeCall('prometheus', { registry: 'prom-client default registry', perConsumer }),
    share: 'instance',
    validate: () => void promClient(path),
    build: () => {
      const { register } = promClient(path);
      const { prometheus } = require('../../prometheus') as typeof import('../../prometheus');
      return prometheus({ registry: register, perConsumer });
    },
  };
};
