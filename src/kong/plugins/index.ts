/**
 * The Kong plugins tollgate runs, by Kong's name.
 *
 * A plugin behind an optional peer dependency (tollgate/prometheus needs prom-client, tollgate/otel
 * @opentelemetry/api) is `require`d inside its translator's `build()`, so `tollgate/kong` loads it
 * only for files that use it.
 */
import { oauth2Introspection } from './oauth2-introspection';
import { openidConnect } from './openid-connect';
import { proxyCacheTranslator } from './proxy-cache';
import { opentelemetryTranslator } from './opentelemetry';
import { prometheusTranslator } from './prometheus';
import { rateLimiting } from './rate-limiting';
import type { Translator } from './translation';

export type { BuildContext, PluginPlan, Translator, TranslateInput } from './translation';

export const TRANSLATORS: Readonly<Record<string, Translator>> = {
  'openid-connect': openidConnect,
  'oauth2-introspection': oauth2Introspection,
  'rate-limiting': rateLimiting,
  'proxy-cache': proxyCacheTranslator,
  prometheus: prometheusTranslator,
  opentelemetry: opentelemetryTranslator,
};


/** Kong plugins whose schema lets them be bound to a consumer (auth plugins cannot be). */
export const CONSUMER_SCOPED: ReadonlySet<string> = new Set(['rate-limiting', 'proxy-cache', 'prometheus', 'opentelemetry']);
