/**
 * The request headers the OIDC plugin owns: the claim headers it sets for the upstream
 * (`upstreamHeadersNames`) and Kong's whole `X-Credential-*` namespace (introspection's headers,
 * `customClaimsForward` included). An upstream trusts them because the gateway set them, so a
 * client's own copies are removed from every request the plugin sees, whichever method
 * authenticates it — and from a CORS preflight let through unauthenticated. So are their
 * underscored spellings (`x_credential_scope`): CGI, WSGI and Rack servers turn `-` and `_` alike
 * into `_`, and would merge a client's `x_user` with the `x-user` the plugin set (nginx and Kong
 * drop underscored names by default).
 *
 * @see https://developer.konghq.com/plugins/oauth2-introspection/ — the X-Credential-* headers
 */
import type { RequestContext } from '../../core/context';
import type { OidcConfig } from './options';

/** The prefix of the headers introspection forwards (Kong's oauth2-introspection names). */
export const CREDENTIAL_PREFIX = 'x-credential-';

/** Which request headers one plugin instance owns, and their removal. */
export class OwnedHeaders {
  private readonly names: ReadonlySet<string>;

  constructor(config: OidcConfig) {
    this.names = new Set(config.upstreamHeaders.map(([, name]) => name.replaceAll('_', '-')));
  }

  /** Whether the plugin owns this request header (a lower-case name, as Node gives them), in either spelling. */
  owns(name: string): boolean {
    const dashed = name.includes('_') ? name.replaceAll('_', '-') : name;
    return dashed.startsWith(CREDENTIAL_PREFIX) || this.names.has(dashed);
  }

  /**
   * Removes the client's copies of owned headers; the plugin sets its own afterwards. Tokens of the
   * client's `Connection` that name an owned header go too: they were about the client's copy, and
   * must not make the upstream proxy drop the plugin's own as hop-by-hop (RFC 9110 §7.6.1), even
   * when it holds the same value.
   */
  strip(ctx: RequestContext): void {
    let found: string[] | undefined;
    for (const name in ctx.request.headers) if (this.owns(name)) (found ??= []).push(name);
    if (found === undefined) return;
    for (const name of found) ctx.request.removeHeader(name);
    const connection = ctx.request.header('connection');
    if (connection === undefined) return;
    const kept = connection.split(',').filter((token) => !this.owns(token.trim().toLowerCase()));
    ctx.request.setHeader('connection', kept.join(','));
  }
}
