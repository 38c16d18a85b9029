/**
 * Logout at the identity provider: RFC 7009 revocation of the session's tokens (`logoutRevoke`)
 * and the RP-initiated logout URL the browser is sent to.
 *
 * The URL is the provider's `end_session_endpoint` with `id_token_hint` and
 * `post_logout_redirect_uri` (OpenID Connect RP-Initiated Logout). An Auth0 tenant that has not
 * turned on its end-session endpoint is sent to Auth0's own `/v2/logout` with `client_id` and
 * `returnTo`, as express-openid-connect does; a tenant is recognised by its `*.auth0.com` host
 * (a custom domain should turn the end-session endpoint on).
 *
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 * @see https://auth0.com/docs/authenticate/login/logout/log-users-out-of-auth0
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
import * as client from 'openid-client';
import { describeError, type Logger } from '../../core/logger';
import type { IssuerMetadata } from '../../identity/discovery';
import type { SessionTokens } from './session';
import type { WebClient } from './web-client';

/** Whether an issuer is an Auth0 tenant (its host under `auth0.com`). */
export const isAuth0 = (issuer: string): boolean => {
  try {
    return /(^|\.)auth0\.com$/i.test(new URL(issuer).hostname);
  } catch {
    return false;
  }
};

/**
 * Where the browser goes to end its session at the identity provider, or undefined when the
 * provider offers no way.
 */
export function endSessionUrl(configuration: client.Configuration, metadata: IssuerMetadata, clientId: string, idToken: string | undefined, returnTo: string | undefined): string | undefined {
  if (metadata.end_session_endpoint) {
    const params: Record<string, string> = {};
    if (idToken) params.id_token_hint = idToken;
    if (returnTo) params.post_logout_redirect_uri = returnTo;
    return client.buildEndSessionUrl(configuration, params).href;
  }
  if (isAuth0(metadata.issuer)) {
    const url = new URL('/v2/logout', metadata.issuer);
    url.searchParams.set('client_id', clientId);
    if (returnTo) url.searchParams.set('returnTo', returnTo);
    return url.href;
  }
  return undefined;
}

/**
 * Revokes the refresh token, then the access token, where the provider has a revocation
 * endpoint. Failures are logged (never the token) and do not stop the logout.
 */
export async function revokeTokens(web: WebClient, tokens: SessionTokens, log: Logger): Promise<void> {
  let configuration: client.Configuration;
  try {
    configuration = await web.configuration();
  } catch (err) {
    log.warn('oidc: tokens not revoked at logout: the issuer could not be discovered', describeError(err));
    return;
  }
  if (!configuration.serverMetadata().revocation_endpoint) {
    log.warn('oidc: logoutRevoke is set but the issuer has no revocation_endpoint');
    return;
  }
  const revoke = async (token: string, hint: string) => {
    try {
      await client.tokenRevocation(configuration, token, { token_type_hint: hint });
    } catch (err) {
      log.warn(`oidc: revoking the ${hint} at logout failed`, describeError(err));
    }
  };
  if (tokens.refreshToken) await revoke(tokens.refreshToken, 'refresh_token');
  await revoke(tokens.accessToken, 'access_token');
}
