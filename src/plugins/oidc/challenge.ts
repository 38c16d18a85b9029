/**
 * The errors the OIDC plugin answers with, each carrying its RFC 6750 `WWW-Authenticate` challenge.
 *
 * Messages stay generic (`Unauthorized`, `Forbidden`): what failed is kept as `cause` for the
 * operator, never shown to the client, so a token probe learns nothing about the policy.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
import { BadRequestError, ForbiddenError, UnauthorizedError } from '../../core/errors';

/** Builds the plugin's errors for one realm. */
export class Challenges {
  private readonly bare: string;
  private readonly invalid: string;

  constructor(realm: string) {
    this.bare = `Bearer realm="${realm}"`;
    this.invalid = `${this.bare}, error="invalid_token"`;
  }

  /**
   * No credentials (or credentials the identity provider refused): 401 with the bare challenge.
   * The code says which: the IdP's refusal comes as an UnauthorizedError cause.
   */
  missing(cause?: unknown): UnauthorizedError {
    const code = cause instanceof UnauthorizedError ? 'ERR_OIDC_CLIENT_REJECTED' : 'ERR_OIDC_CREDENTIALS_MISSING';
    return new UnauthorizedError('Unauthorized', { cause, code, headers: { 'WWW-Authenticate': this.bare } });
  }

  /** A token was presented and is not acceptable: 401 `invalid_token` (the code tells an expired one apart). */
  invalidToken(cause?: unknown): UnauthorizedError {
    const code = (cause as { code?: unknown } | undefined)?.code === 'ERR_JWT_EXPIRED' ? 'ERR_OIDC_TOKEN_EXPIRED' : 'ERR_OIDC_TOKEN_INVALID';
    return new UnauthorizedError('Unauthorized', { cause, code, headers: { 'WWW-Authenticate': this.invalid } });
  }

  /** Credentials sent more than one way: 400 `invalid_request` (RFC 6750 §2). */
  invalidRequest(): BadRequestError {
    return new BadRequestError('Bad Request', { headers: { 'WWW-Authenticate': `${this.bare}, error="invalid_request"` } });
  }

  /** A valid token without the scope, role or audience required: 403 `insufficient_scope`. */
  insufficient(what: string, scope?: readonly string[]): ForbiddenError {
    const scopePart = scope && scope.length > 0 ? `, scope="${scope.join(' ').replace(/["\\]/g, '')}"` : '';
    return new ForbiddenError('Forbidden', {
      cause: new Error(`missing required ${what}`),
      headers: { 'WWW-Authenticate': `${this.bare}, error="insufficient_scope"${scopePart}` },
    });
  }
}
