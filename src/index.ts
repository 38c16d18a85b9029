/**
 * tollgate: API-gateway policies as Express and Koa middleware.
 *
 * Mount with `gateway(...)` from `tollgate/express` or `tollgate/koa`; test with `tollgate/testing`.
 *
 * @packageDocumentation
 * @module tollgate
 */
export { definePlugin } from './core/plugin';
export type { Plugin, AnyPlugin, PluginDefinition } from './core/plugin';
export type {
  RequestContext,
  SharedState,
  Consumer,
  Credential,
  RequestView,
  ResponseView,
  ExitResponse,
  Timings,
  RawExchange,
  NodeRequest,
  NodeResponse,
} from './core/context';
export {
  TollgateError,
  ConfigError,
  BadRequestError,
  UnauthorizedError,
  ForbiddenError,
  RateLimitError,
  UpstreamError,
  UpstreamUnavailableError,
  UpstreamTimeoutError,
  IdentityProviderError,
  StoreError,
  InternalError,
  renderError,
  isTollgateError,
} from './core/errors';
export type { TollgateErrorOptions, RenderedError, TollgateErrorCode, KnownTollgateError, UnauthorizedCode } from './core/errors';
export type { GatewayOptions } from './core/gateway-options';
export { diagnosticsChannels } from './core/diagnostics';
export type {
  DiagnosticsChannelName,
  AnswerSource,
  RequestMessage,
  PluginPhaseMessage,
  PluginPhase,
  PluginOutcome,
  UpstreamTryMessage,
  UpstreamErrorKind,
  TargetHealthState,
  IdpCallMessage,
  IdpEndpoint,
  IdpOutcome,
  CacheMessage,
} from './core/diagnostics';
export { consumers, ConsumerRegistry, type ConsumerDefinition, type ConsumerField } from './core/consumers';
export { setLogger } from './core/logger';
export type { Logger, LoggerOption } from './core/logger';
export type { RedisOptions, RedisConfig, RedisCommonOptions, RedisClient } from './stores/redis';
export type { SqlOptions, SqlConfig, SqlClientType } from './stores/sql';
// Plugins (each line added by the plugin's issue):
export { oidc } from './plugins/oidc';
export type { OidcOptions, OidcConfig, OidcPlugin, OidcAuthMethod, OidcParamType, OidcIntrospectionOptions, OidcLoginOptions, OidcLoginConfig } from './plugins/oidc';
export { rateLimit, type RateLimitPlugin, type RateLimitOptions, type RateLimitConfig, type LimitBy, type HeaderStyle } from './plugins/rate-limit';
export type { WindowName } from './plugins/rate-limit/windows';
export { proxyCache, proxyCacheAdmin, type ProxyCachePlugin, type ProxyCacheOptions, type ProxyCacheConfig, type ProxyCacheAdminOptions, type CacheStatus, type CacheableMethod } from './plugins/proxy-cache';
export { upstreamProxy, type UpstreamProxyPlugin, type UpstreamProxyOptions, type UpstreamProxyConfig, type TargetHealth, type TargetConfig, type HealthchecksOptions, type PassiveUnhealthyOptions, type KeepaliveOptions, type BackendClientCredentialsOptions } from './plugins/upstream-proxy';
export { perConsumer, type PerConsumerOptions, type PerConsumerConfig } from './plugins/per-consumer';
