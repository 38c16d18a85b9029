/**
 * Sealing session data: JWE compact serialization with `dir` + `A256GCM` (jose), the key derived
 * from `sessionSecret` with HKDF-SHA256 (node:crypto). Every secret of the list can open a value,
 * the first seals: rotating the secret does not log anyone out. A protected `kid` (a hash of the
 * derived key) picks the key, so a value costs one decryption whatever the list's length.
 *
 * `dir` + `A256GCM`, as express-openid-connect's cookies: authenticated encryption with no key
 * wrapping, so a tampered byte anywhere fails the tag check, and the value is 1.33x the JSON plus
 * about 100 bytes. Each purpose (session, login transaction) derives its own key, so a value made
 * for one can never be opened as the other.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7516 — JWE
 * @see https://www.rfc-editor.org/rfc/rfc5869 — HKDF
 */
import { hash, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';

/** Values larger than this are not even parsed (a session cookie is a few KB; Redis records alike). */
const MAX_SEALED = 64 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Key {
  readonly kid: string;
  readonly key: Uint8Array;
}

/** Seals and opens values for one purpose with the keys derived from the session secrets. */
export class Sealer {
  private readonly keys: readonly Key[];

  /**
   * @param secrets - the session secrets, the first one sealing
   * @param purpose - separates the keys of different uses (`session`, `transaction`)
   */
  constructor(secrets: readonly string[], purpose: string) {
    this.keys = secrets.map((secret) => {
      const key = new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), `tollgate oidc ${purpose} A256GCM`, 32));
      return { kid: hash('sha256', key, 'base64url').slice(0, 12), key };
    });
  }

  /** The compact JWE of `payload` (JSON). */
  seal(payload: unknown): Promise<string> {
    const { kid, key } = this.keys[0]!;
    return new CompactEncrypt(encoder.encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid }).encrypt(key);
  }

  /** The payload of a value this sealer (or one with a rotated-out secret still listed) made, or undefined for anything else. */
  async open(value: string): Promise<unknown> {
    if (value.length > MAX_SEALED) return undefined;
    try {
      const { kid } = decodeProtectedHeader(value);
      const key = this.keys.find((k) => k.kid === kid);
      if (!key) return undefined;
      const { plaintext } = await compactDecrypt(value, key.key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      return JSON.parse(decoder.decode(plaintext)) as unknown;
    } catch {
      // Tampered, truncated, made with another secret, or not a JWE at all: no session.
      return undefined;
    }
  }
}
