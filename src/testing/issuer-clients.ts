/**
 * The test issuer's clients: registration shape, form parsing, and client authentication as
 * Auth0 does it (`client_secret_post` or `client_secret_basic`, 401 `access_denied` when refused).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { JWTPayload } from 'jose';

/** A client registered with the test issuer (an Auth0 machine-to-machine application). */
export interface TestClient {
  clientId: string;
  clientSecret: string;
  /** Audiences this client has a grant for (Auth0 client grants). @defaultValue any audience */
  audience?: string | string[];
  /** Scopes granted; the token's `scope` claim. @defaultValue none (no `scope` claim, as Auth0 does) */
  scope?: string;
  /** How the client must authenticate. @defaultValue either */
  tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  /** `opaque` issues tokens only introspection understands. @defaultValue `'jwt'` */
  tokenFormat?: 'jwt' | 'opaque';
  /** Extra claims put in this client's tokens. */
  claims?: JWTPayload;
  /** Auth0's "Allowed Callback URLs" for end-user login. @defaultValue any http(s) URL */
  redirectUris?: string[];
  /** Auth0's "Allowed Logout URLs". @defaultValue any http(s) URL */
  logoutUrls?: string[];
}

const MAX_BODY = 64 * 1024;

/** Reads an `application/x-www-form-urlencoded` or JSON body into form parameters. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new RangeError('body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (/json/.test(req.headers['content-type'] ?? '')) {
    const body = JSON.parse(text) as Record<string, unknown>;
    return new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)]));
  }
  return new URLSearchParams(text);
}

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The outcome of client authentication. */
export type ClientAuthResult =
  | { client: TestClient; error?: undefined }
  | { error: string; description: string; status: number; client?: undefined };

/**
 * Authenticates the client of a token or introspection request: HTTP Basic (RFC 6749 §2.3.1:
 * form-urlencoded id and secret) or `client_id`/`client_secret` in the body, never both.
 */
export function checkClientAuth(req: IncomingMessage, form: URLSearchParams, clients: ReadonlyMap<string, TestClient>): ClientAuthResult {
  const header = req.headers.authorization ?? '';
  const basic = /^basic\s+(\S+)$/i.exec(header);
  const inBody = form.has('client_secret');
  if (basic && inBody) return { error: 'invalid_request', description: 'Only one client authentication method may be used', status: 400 };
  let id: string | undefined;
  let secret: string | undefined;
  let method: TestClient['tokenEndpointAuthMethod'];
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon !== -1) {
      try {
        id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
        secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      } catch {
        id = undefined;
      }
    }
    method = 'client_secret_basic';
  } else if (inBody) {
    id = form.get('client_id') ?? undefined;
    secret = form.get('client_secret') ?? undefined;
    method = 'client_secret_post';
  }
  const client = id === undefined ? undefined : clients.get(id);
  const methodOk = !client?.tokenEndpointAuthMethod || client.tokenEndpointAuthMethod === method;
  if (!client || secret === undefined || !same(secret, client.clientSecret) || !methodOk) {
    return { error: 'access_denied', description: 'Unauthorized', status: 401 };
  }
  return { client };
}
