/**
 * What an authenticated request carries on: the consumer and credential for the context, the
 * headers for the upstream, and the authorization outcome — computed once per token and cached,
 * so a repeated token costs a hash and a cache lookup.
 */
import type { Consumer, Credential, RequestContext } from '../../core/context';
import { ForbiddenError } from '../../core/errors';
import { authorize, claimAt, valuesOf } from './authorization';
import type { Challenges } from './challenge';
import type { OidcConfig } from './options';

/** The outcome of authenticating one credential. */
export interface Principal {
  readonly consumer?: Consumer;
  readonly credential: Credential;
  /** Upstream request headers: a value to set, or undefined to remove what the client sent. */
  readonly headers: readonly (readonly [string, string | undefined])[];
  /** The 403 to answer with when the credential is valid but not authorized. */
  readonly denied?: ForbiddenError;
  /** Epoch milliseconds after which this outcome must not be reused. */
  readonly expiresAt: number;
}

// CR, LF, NUL and the other controls would let a claim smuggle headers; tab and space are fine.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const NON_ASCII = /[^\t\x20-\x7e]+/g;

/**
 * A claim value as a header value: strings as they are, numbers and booleans printed, arrays
 * joined with `,`, objects as JSON. Undefined when it cannot be sent safely: a value with a control
 * character is dropped (header injection), non-ASCII characters are percent-encoded as UTF-8
 * (Node refuses them in headers).
 */
export function headerValue(value: unknown): string | undefined {
  let text: string;
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Array.isArray(value)) text = value.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',');
  else text = JSON.stringify(value);
  if (CONTROL.test(text)) return undefined;
  return text.replace(NON_ASCII, (s) => encodeURIComponent(s));
}

/** The first present consumer claim, as a string. */
function consumerOf(config: OidcConfig, claims: Readonly<Record<string, unknown>>): Consumer | undefined {
  for (const name of config.consumerClaim) {
    const value = claims[name];
    if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') return { id: String(value) };
  }
  return undefined;
}

/**
 * The registered consumer a credential maps to (Kong's consumer mapping), with the `X-Consumer-*`
 * headers for the upstream (a client's own are always replaced or removed), or the 403 when it
 * maps to none and the consumer is not optional.
 */
function mapConsumer(config: OidcConfig, claimed: Consumer | undefined): { consumer?: Consumer; headers: [string, string | undefined][]; denied?: ForbiddenError } {
  const consumer = claimed === undefined ? undefined : config.consumers!.find(claimed.id, config.consumerBy);
  const headers: [string, string | undefined][] = [
    ['x-consumer-id', consumer?.id],
    ['x-consumer-custom-id', consumer?.customId],
    ['x-consumer-username', consumer?.username],
  ];
  if (consumer !== undefined || config.consumerOptional) return { ...(consumer ? { consumer } : {}), headers };
  return { headers, denied: new ForbiddenError('Forbidden', { cause: new Error(`no consumer matches the token by ${config.consumerBy.join(', ')}`) }) };
}

/** What a principal is built from. */
export interface PrincipalInput {
  readonly type: Credential['type'];
  readonly claims: Readonly<Record<string, unknown>>;
  /** The credential id when the claims have none (a token hash, the client id). */
  readonly fallbackId: string;
  /** A consumer to use when no consumer claim is present. */
  readonly fallbackConsumer?: Consumer;
  /** Scopes known from elsewhere (the token response's `scope`). */
  readonly scopes?: readonly string[];
  readonly expiresAt: number;
  /** Headers beyond `upstreamHeadersClaims` (introspection's `X-Credential-*`, the upstream Authorization). */
  readonly extraHeaders?: readonly (readonly [string, string | undefined])[];
}

/** Builds the principal for verified claims, authorization included. */
export function buildPrincipal(config: OidcConfig, challenges: Challenges, input: PrincipalInput): Principal {
  const { claims } = input;
  const claimScopes = valuesOf(claimAt(claims, config.scopesClaim));
  const scopes = claimScopes.length > 0 ? claimScopes : [...(input.scopes ?? [])];
  const credentialId = claims[config.credentialClaim];
  const credential: Credential = Object.freeze({
    id: typeof credentialId === 'string' || typeof credentialId === 'number' ? String(credentialId) : input.fallbackId,
    type: input.type,
    claims: Object.freeze({ ...claims }),
    scopes: Object.freeze(scopes),
  });
  const headers: (readonly [string, string | undefined])[] = [...(input.extraHeaders ?? [])];
  for (const [claim, name] of config.upstreamHeaders) headers.push([name, headerValue(claims[claim])]);
  let consumer = consumerOf(config, claims) ?? input.fallbackConsumer;
  let denied = authorize(config, claims, scopes, challenges);
  if (config.consumers !== undefined) {
    const mapped = mapConsumer(config, consumer);
    consumer = mapped.consumer;
    headers.push(...mapped.headers);
    denied ??= mapped.denied;
  }
  return Object.freeze({
    ...(consumer ? { consumer: Object.freeze(consumer) } : {}),
    credential,
    headers: Object.freeze(headers),
    ...(denied ? { denied } : {}),
    expiresAt: input.expiresAt,
  });
}

/**
 * Puts a principal on the request: consumer and credential on the context, and the upstream
 * headers, which always replace what the client sent (a missing claim removes the header).
 *
 * @throws ForbiddenError when the credential is valid but not authorized.
 */
export function applyPrincipal(ctx: RequestContext, principal: Principal): void {
  if (principal.denied) throw principal.denied;
  ctx.consumer = principal.consumer;
  ctx.credential = principal.credential;
  for (const [name, value] of principal.headers) {
    if (value === undefined) ctx.request.removeHeader(name);
    else ctx.request.setHeader(name, value);
  }
}
