/**
 * Bearer JWT verification with jose against the issuer's published keys.
 *
 * Cheap structural checks run first, so garbage, `alg: none`, HMAC algorithms, embedded-key
 * headers and JWE-shaped tokens are refused without touching the network. Then: the key by
 * (jwks_uri, kid) and the token's own `alg` (only algorithms the key declares or fits, all
 * asymmetric), an exact `iss`, `aud` any-of, `exp` required, `exp`/`nbf` with the leeway.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 — validating JWT access tokens
 * @see https://www.rfc-editor.org/rfc/rfc8725 — JWT best current practices
 */
import { decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { IdentityProviderError, TollgateError } from '../../core/errors';
import type { IssuerDiscovery } from '../../identity/discovery';
import { ASYMMETRIC_ALGORITHMS, type JwksCache } from '../../identity/jwks';
import type { Challenges } from './challenge';
import type { OidcConfig } from './options';

/**
 * The longest token considered. Node refuses request headers over 16 KB by default; a larger
 * token is not decoded at all.
 */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;
// Headers that name or carry a key: verification never uses them, and a token that brings its own
// key is an attack (RFC 8725 §3.10), so it is refused outright.
const EMBEDDED_KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'];

/** Whether a token has the shape of a compact JWS (three base64url parts), as opposed to opaque. */
export const looksLikeJwt = (token: string): boolean => token.length <= MAX_TOKEN_LENGTH && COMPACT_JWS.test(token);

/** A verified token: its claims and the published key that verified it. */
export interface VerifiedToken {
  readonly claims: JWTPayload;
  /** The JWKS URL the key came from and the key itself, to tell later whether it is still published. */
  readonly jwksUri: string;
  readonly key: CryptoKey;
}

/** Verifies JWT access tokens for one plugin instance. */
export class BearerVerifier {
  constructor(
    private readonly config: OidcConfig,
    private readonly discovery: IssuerDiscovery,
    private readonly jwks: JwksCache,
    private readonly challenges: Challenges,
  ) {}

  /**
   * The verified claims of `token`, with the key that verified them.
   *
   * @throws UnauthorizedError (`invalid_token`) for any token that does not verify.
   * @throws IdentityProviderError when discovery or the keys were needed and the issuer did not answer.
   */
  async verify(token: string): Promise<VerifiedToken> {
    if (!looksLikeJwt(token)) throw this.challenges.invalidToken(new Error('not a compact JWS'));
    let alg: unknown;
    let kid: unknown;
    try {
      const header = decodeProtectedHeader(token);
      alg = header.alg;
      kid = header.kid;
      if (EMBEDDED_KEY_HEADERS.some((h) => h in header)) throw new Error('token header embeds or points at a key');
    } catch (err) {
      throw this.challenges.invalidToken(err);
    }
    if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) throw this.challenges.invalidToken(new Error('algorithm not allowed'));
    if (kid !== undefined && typeof kid !== 'string') throw this.challenges.invalidToken(new Error('kid is not a string'));

    const metadata = this.discovery.current ?? (await this.discovery.get());
    const jwksUri = this.config.jwksEndpoint ?? metadata.jwks_uri;
    if (!jwksUri) throw new IdentityProviderError('The identity provider answered an invalid response (no jwks_uri)', { status: 502 });
    const key = await this.jwks.key(jwksUri, kid, alg);
    if (!key) throw this.challenges.invalidToken(new Error('no published key for this kid and algorithm'));
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer: metadata.issuer,
        ...(this.config.audience ? { audience: this.config.audience as string[] } : {}),
        clockTolerance: this.config.leeway,
        requiredClaims: ['exp'],
      });
      return { claims: payload, jwksUri, key };
    } catch (err) {
      if (err instanceof TollgateError) throw err;
      throw this.challenges.invalidToken(err);
    }
  }
}
