/**
 * Public signing keys from an issuer's JWKS, cached per (jwks_uri, kid).
 *
 * Our own cache rather than jose's `createRemoteJWKSet`, because we need what it does not do
 * (shared/reference/node-anchors.md §3.2): keep serving the last good keys for a bounded time when
 * the issuer is unreachable (stale-if-error), look a key up synchronously on the hot path, refresh
 * in the background once the refresh interval has passed, and import each key once per algorithm.
 * Fetching stays jose-like: single-flight, `redirect: 'manual'`, 200 only, a timeout that aborts,
 * and an unknown `kid` triggers at most one refetch per cooldown.
 *
 * A key that is published again unchanged keeps its imported `CryptoKey` across refreshes, so
 * {@link JwksCache.published} tells whether the key that verified a token is still published: the
 * verified-token cache must not outlive the key (a withdrawn key is often a compromised one).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517 — JSON Web Key
 */
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { IdentityProviderError } from '../core/errors';
import { idpFailure } from './client-credentials';
import { traceIdp, type IdpTrace } from './trace';

/** The asymmetric JWS algorithms tokens may be signed with. HMAC and `none` are never accepted. */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_ALGS: Record<string, string> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };

/** How a {@link JwksCache} fetches and keeps keys. */
export interface JwksOptions {
  /** Milliseconds after which keys are refreshed in the background. @defaultValue 900000 (15 minutes) */
  refreshInterval?: number;
  /** Least milliseconds between two refetches caused by an unknown `kid`. @defaultValue 30000 */
  cooldown?: number;
  /** Milliseconds past `refreshInterval` the last good keys keep serving while the issuer is unreachable. @defaultValue 3600000 */
  staleIfError?: number;
  /** Milliseconds before a JWKS request is aborted. @defaultValue 10000 */
  timeout?: number;
  /** Allow plain-http JWKS URLs (local development and tests only). @defaultValue false */
  allowInsecure?: boolean;
  /** Test seam: a fetch implementation. */
  fetch?: typeof fetch;
}

/** One usable public key, imported for each algorithm it may verify. */
interface KeyEntry {
  /** The JWK as published: the same text on the next fetch means the same key. */
  readonly published: string;
  readonly byAlg: ReadonlyMap<string, CryptoKey>;
}

interface KeySet {
  /** kid → keys with that kid; keys without a kid are under ''. */
  keys: Map<string, KeyEntry[]>;
  /** Every key of `keys`, for {@link JwksCache.published}. */
  live: ReadonlySet<CryptoKey>;
  fetchedAt: number;
  lastAttempt: number;
  failures: number;
  inflight?: Promise<void>;
}

const MAX_JWKS_BYTES = 512 * 1024;

/** The algorithms a published JWK may verify, or none when it is not a public signing key. */
function algorithmsOf(jwk: JWK): string[] {
  if (jwk.d !== undefined || (jwk as { priv?: unknown }).priv !== undefined) return []; // a private key was published: ignore it
  if (jwk.use !== undefined && jwk.use !== 'sig') return [];
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return [];
  let possible: string[];
  if (jwk.kty === 'RSA') possible = RSA_ALGS;
  else if (jwk.kty === 'EC') possible = EC_ALGS[jwk.crv ?? ''] ? [EC_ALGS[jwk.crv!]!] : [];
  else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') possible = ['EdDSA', 'Ed25519'];
  else return []; // 'oct' (a shared secret) and anything unknown never verify a token
  if (jwk.alg === undefined) return possible;
  return possible.includes(jwk.alg) ? [jwk.alg] : [];
}

/** A cache of issuers' public keys, looked up by (jwks_uri, kid, alg). */
export class JwksCache {
  /** How many JWKS requests were sent (for tests). */
  requests = 0;
  private readonly sets = new Map<string, KeySet>();
  private readonly opts: Required<Omit<JwksOptions, 'fetch'>> & Pick<JwksOptions, 'fetch'>;

  constructor(options: JwksOptions = {}) {
    this.opts = { refreshInterval: 900_000, cooldown: 30_000, staleIfError: 3_600_000, timeout: 10_000, allowInsecure: false, ...options };
  }

  /**
   * The key for a token with this `kid` and `alg`, or `null` when the issuer publishes none.
   * An unknown `kid` triggers one refetch unless one ran within the cooldown.
   *
   * @throws IdentityProviderError when the keys had to be fetched and the issuer did not answer.
   */
  async key(uri: string, kid: string | undefined, alg: string): Promise<CryptoKey | null> {
    let set = this.sets.get(uri);
    if (!set) this.sets.set(uri, (set = { keys: new Map(), live: new Set(), fetchedAt: 0, lastAttempt: 0, failures: 0 }));
    if (!this.usable(set)) {
      await this.refresh(uri, set);
      return this.find(set, kid, alg);
    }
    if (Date.now() - set.fetchedAt >= this.opts.refreshInterval) this.refreshInBackground(uri, set);
    const found = this.find(set, kid, alg);
    if (found) return found;
    if (set.inflight) {
      await set.inflight;
      return this.find(set, kid, alg);
    }
    if (Date.now() - set.lastAttempt < this.opts.cooldown) return null;
    await this.refresh(uri, set);
    return this.find(set, kid, alg);
  }

  /**
   * Fetches the keys now unless usable ones are cached (a warm-up before the first request).
   *
   * @throws IdentityProviderError when the issuer did not answer.
   */
  async prefetch(uri: string): Promise<void> {
    let set = this.sets.get(uri);
    if (!set) this.sets.set(uri, (set = { keys: new Map(), live: new Set(), fetchedAt: 0, lastAttempt: 0, failures: 0 }));
    if (!this.usable(set)) await this.refresh(uri, set);
  }

  /**
   * Whether `key` (as returned by {@link JwksCache.key}) is still among the usable keys published at
   * `uri`: false once a refresh no longer lists it, or the keys are past stale-if-error.
   */
  published(uri: string, key: CryptoKey): boolean {
    const set = this.sets.get(uri);
    return set !== undefined && this.usable(set) && set.live.has(key);
  }

  /** Whether a key set may still serve: fetched, and not past its refresh interval plus stale-if-error. */
  private usable(set: KeySet): boolean {
    return set.fetchedAt > 0 && Date.now() - set.fetchedAt < this.opts.refreshInterval + this.opts.staleIfError;
  }

  private find(set: KeySet, kid: string | undefined, alg: string): CryptoKey | null {
    if (kid !== undefined) {
      for (const entry of set.keys.get(kid) ?? []) {
        const key = entry.byAlg.get(alg);
        if (key) return key;
      }
      return null;
    }
    // No kid in the token: acceptable only when exactly one published key fits the algorithm (as jose does).
    let match: CryptoKey | null = null;
    for (const entries of set.keys.values()) {
      for (const entry of entries) {
        const key = entry.byAlg.get(alg);
        if (key && match) return null;
        if (key) match = key;
      }
    }
    return match;
  }

  private refreshInBackground(uri: string, set: KeySet): void {
    if (set.inflight) return;
    const backoff = set.failures === 0 ? 0 : Math.min(this.opts.cooldown, 1000 * 2 ** (set.failures - 1));
    if (Date.now() - set.lastAttempt < backoff) return;
    // A failure is already remembered in the set; the stale keys keep serving meanwhile.
    this.refresh(uri, set).catch(() => {});
  }

  private refresh(uri: string, set: KeySet): Promise<void> {
    set.inflight ??= traceIdp('jwks', 'GET', uri, (trace) => this.fetchKeys(uri, set.keys, trace))
      .then(
        (keys) => {
          set.keys = keys;
          set.live = new Set([...keys.values()].flatMap((entries) => entries.flatMap((entry) => [...entry.byAlg.values()])));
          set.fetchedAt = Date.now();
          set.failures = 0;
        },
        (err: unknown) => {
          set.failures++;
          throw err;
        },
      )
      .finally(() => {
        set.inflight = undefined;
      });
    return set.inflight;
  }

  private async fetchKeys(uri: string, previous: ReadonlyMap<string, KeyEntry[]>, trace: IdpTrace | undefined): Promise<Map<string, KeyEntry[]>> {
    this.requests++;
    const set = this.sets.get(uri);
    if (set) set.lastAttempt = Date.now();
    if (!uri.startsWith('https:') && !(this.opts.allowInsecure && uri.startsWith('http:'))) {
      throw new IdentityProviderError('The identity provider answered an invalid response (jwks_uri is not https)', { status: 502 });
    }
    let body: unknown;
    try {
      const res = await (this.opts.fetch ?? fetch)(uri, {
        headers: { accept: 'application/json, application/jwk-set+json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeout),
      });
      trace?.saw(res);
      const text = await res.text();
      if (res.status !== 200) throw new TypeError(`JWKS answered HTTP ${res.status}`);
      if (text.length > MAX_JWKS_BYTES) throw new TypeError('JWKS too large');
      body = JSON.parse(text);
    } catch (err) {
      throw idpFailure(err, 'jwks');
    }
    const list = (body as { keys?: unknown })?.keys;
    if (!Array.isArray(list)) throw idpFailure(new TypeError('JWKS without a "keys" array'), 'jwks');
    const before = new Map<string, KeyEntry>();
    for (const entries of previous.values()) for (const entry of entries) before.set(entry.published, entry);
    const keys = new Map<string, KeyEntry[]>();
    for (const jwk of list as JWK[]) {
      if (typeof jwk !== 'object' || jwk === null) continue;
      const kid = typeof jwk.kid === 'string' ? jwk.kid : '';
      const published = JSON.stringify(jwk);
      const kept = before.get(published);
      if (kept) {
        keys.set(kid, [...(keys.get(kid) ?? []), kept]);
        continue;
      }
      const byAlg = new Map<string, CryptoKey>();
      for (const alg of algorithmsOf(jwk)) {
        try {
          const key = (await importJWK({ ...jwk, alg, ext: true }, alg)) as CryptoKey;
          // RFC 7518 §3.3: RSA keys under 2048 bits must not be used (and an empty modulus imports fine).
          const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
          if (bits === undefined || bits >= 2048) byAlg.set(alg, key);
        } catch {
          // a malformed key verifies nothing; the others still serve
        }
      }
      if (byAlg.size === 0) continue;
      keys.set(kid, [...(keys.get(kid) ?? []), { published, byAlg }]);
    }
    return keys;
  }
}
