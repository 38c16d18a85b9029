/**
 * The signing keys of the test issuer: generation, rotation, the published key set, and minting.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK, type JWTPayload, type KeyObject } from 'jose';

/** The asymmetric algorithms the test issuer can sign with. */
export type TestIssuerAlgorithm = 'RS256' | 'PS256' | 'ES256';

/** One published signing key. */
interface SigningKey {
  readonly kid: string;
  readonly alg: TestIssuerAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

/** How {@link TestIssuer.sign} mints a token; everything has a default. */
export interface SignOptions {
  /** The `kid` header. @defaultValue the current key's kid */
  kid?: string;
  /** The `alg` header. @defaultValue the current key's algorithm */
  alg?: string;
  /** Another private key to sign with (for "known kid, foreign key" tests). @defaultValue the current key */
  privateKey?: CryptoKey | KeyObject;
  /** Seconds until `exp` when the claims carry no `exp`. @defaultValue 3600 */
  expiresIn?: number;
  /** Extra protected header parameters (`typ`, `jku`, …). */
  header?: Record<string, unknown>;
}

async function newKey(alg: TestIssuerAlgorithm): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = (await calculateJwkThumbprint(jwk)).slice(0, 16);
  return { kid, alg, privateKey, publicKey, jwk: Object.freeze({ ...jwk, kid, alg, use: 'sig' }) };
}

/** The issuer's key ring: the first key signs, every key is published until dropped. */
export class KeyRing {
  private keys: SigningKey[] = [];

  private constructor(private readonly alg: TestIssuerAlgorithm) {}

  static async create(alg: TestIssuerAlgorithm): Promise<KeyRing> {
    const ring = new KeyRing(alg);
    ring.keys = [await newKey(alg)];
    return ring;
  }

  /** The kid that signs new tokens. */
  get currentKid(): string {
    return this.keys[0]!.kid;
  }

  /** The published JSON Web Key Set. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => ({ ...k.jwk })) };
  }

  /** Publishes a new signing key; the previous ones stay published unless `dropPrevious`. */
  async rotate(dropPrevious: boolean): Promise<string> {
    const key = await newKey(this.alg);
    this.keys = dropPrevious ? [key] : [key, ...this.keys];
    return key.kid;
  }

  /** Signs `claims` as they are (no defaults added here). */
  async sign(claims: JWTPayload, options: SignOptions = {}): Promise<string> {
    const key = this.keys[0]!;
    const header = { typ: 'JWT', ...options.header, alg: options.alg ?? key.alg, kid: options.kid ?? key.kid };
    return new SignJWT(claims).setProtectedHeader(header).sign(options.privateKey ?? key.privateKey);
  }

  /** The verified claims of a token this issuer signed, or undefined. */
  async verify(token: string, issuer: string): Promise<JWTPayload | undefined> {
    for (const key of this.keys) {
      try {
        const { payload } = await jwtVerify(token, key.publicKey, { issuer, algorithms: [key.alg] });
        return payload;
      } catch {
        // try the next published key
      }
    }
    return undefined;
  }
}

/** An opaque token: random, unguessable, meaningful only to this issuer's introspection endpoint. */
export const opaqueToken = (): string => randomBytes(32).toString('base64url');
