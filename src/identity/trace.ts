/**
 * Calls to the identity provider on `tollgate:idp` (see core/diagnostics.ts): discovery, JWKS,
 * token and introspection requests, each from `start` to `end` with how it went. Made only while
 * someone listens: `traceIdp` runs the call as it is otherwise.
 */
import { idpChannel, redactUrl, type IdpCallMessage, type IdpEndpoint, type IdpOutcome } from '../core/diagnostics';
import { IdentityProviderError, TollgateError, UnauthorizedError } from '../core/errors';

/** One IdP call, as subscribers see it; the call itself records the HTTP status it got. */
export class IdpTrace implements IdpCallMessage {
  readonly url: string;
  status: number | undefined = undefined;
  outcome: IdpOutcome | undefined = undefined;
  code: string | undefined = undefined;
  error: unknown = undefined;

  constructor(
    readonly endpoint: IdpEndpoint,
    readonly method: 'GET' | 'POST',
    url: string | URL,
  ) {
    this.url = redactUrl(String(url));
  }

  /** Records the status of the IdP's answer and passes the answer on. */
  readonly saw = <R extends { status: number }>(response: R): R => {
    this.status = response.status;
    return response;
  };

  ended(): void {
    this.outcome = 'ok';
    idpChannel.end.publish(this);
  }

  failed(err: unknown): void {
    this.error = err;
    this.outcome = outcomeOf(err);
    if (err instanceof TollgateError) this.code = err.code;
    idpChannel.error.publish(this);
    idpChannel.end.publish(this);
  }
}

/** How a failed call went, from the tollgate error it was mapped to. */
function outcomeOf(err: unknown): IdpOutcome {
  if (err instanceof UnauthorizedError) return 'rejected';
  if (err instanceof IdentityProviderError && err.status === 503) return 'unreachable';
  return 'invalid';
}

/**
 * Runs `call` as one IdP call on `tollgate:idp`; `call` gets the trace (undefined while nobody
 * listens) to record the HTTP status with `trace?.saw(response)`. The call's result or error is
 * passed on unchanged; its error should already be a tollgate error (`idpFailure`).
 */
export function traceIdp<T>(endpoint: IdpEndpoint, method: 'GET' | 'POST', url: string | URL, call: (trace: IdpTrace | undefined) => Promise<T>): Promise<T> {
  if (!idpChannel.hasSubscribers) return call(undefined);
  const trace = new IdpTrace(endpoint, method, url);
  return idpChannel.start.runStores(trace, () =>
    call(trace).then(
      (value) => {
        trace.ended();
        return value;
      },
      (err: unknown) => {
        trace.failed(err);
        throw err;
      },
    ),
  );
}

/** The discovery document's URL for an issuer (as openid-client builds it), or the URL given when it is one. */
export function discoveryUrl(issuer: URL): string {
  if (issuer.pathname.includes('/.well-known/')) return issuer.href;
  const url = new URL(issuer.href);
  url.pathname = `${url.pathname}/.well-known/openid-configuration`.replace('//', '/');
  return url.href;
}
