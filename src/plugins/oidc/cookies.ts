/**
 * Cookies of the login flow: reading the `Cookie` header, writing `Set-Cookie` lines, the
 * `__Host-` name over https, and chunking values past the browser's 4 KB limit per cookie.
 *
 * Written here rather than taken from the `cookie` package: tollgate writes only its own cookies,
 * whose values are base64url (no escaping needed), with one fixed set of attributes — two short
 * functions, not worth a dependency.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6265 — cookies
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis — `__Host-`, SameSite
 */

/** The cookies a request sent, by name (the first of a repeated name wins, as browsers order the most specific first). */
export type RequestCookies = ReadonlyMap<string, string>;

/** Parses a `Cookie` header. Malformed pairs are skipped. */
export function parseCookies(header: string | undefined): RequestCookies {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    if (!name || out.has(name)) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    out.set(name, value);
  }
  return out;
}

/** Attributes of every cookie tollgate sets: HttpOnly, SameSite=Lax, Path=/, Secure over https. */
export interface CookieOptions {
  /** Whether the request came over https: adds `Secure` (and the name gets `__Host-`, see {@link cookieName}). */
  readonly secure: boolean;
  /** Seconds until the browser drops the cookie; 0 deletes it; undefined = until the browser closes. */
  readonly maxAge?: number;
}

/** The name a cookie is set under: `__Host-<name>` over https (bound to this host, Secure, Path=/), `<name>` otherwise. */
export const cookieName = (base: string, secure: boolean): string => (secure ? `__Host-${base}` : base);

/** One `Set-Cookie` line. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  let line = `${name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
  if (options.secure) line += '; Secure';
  if (options.maxAge !== undefined) {
    const seconds = Math.max(0, Math.floor(options.maxAge));
    line += `; Max-Age=${seconds}`;
    // Expires too, for the few clients that ignore Max-Age (a 0 means "delete now").
    if (seconds === 0) line += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  }
  return line;
}

/** The `Set-Cookie` line that deletes a cookie. */
export const clearCookie = (name: string, secure: boolean): string => serializeCookie(name, '', { secure, maxAge: 0 });

/** What browsers keep of one cookie, name and value and attributes together (RFC 6265 §6.1: at least 4096 bytes). */
const MAX_COOKIE_BYTES = 4096;

/**
 * `Set-Cookie` lines for a value that may not fit one cookie: `<name>` when it fits, else
 * `<name>.0`, `<name>.1`, …; cookies of an earlier write that this one does not overwrite are
 * deleted, so a shrinking value leaves no stale chunk behind.
 */
export function chunkedCookies(name: string, value: string, options: CookieOptions, present: RequestCookies): string[] {
  // The attributes count against the limit too (express-openid-connect #269/#282): measure the
  // longest line a chunk could have, with a two-digit index.
  const room = MAX_COOKIE_BYTES - serializeCookie(`${name}.99`, '', options).length;
  const lines: string[] = [];
  const written = new Set<string>();
  if (serializeCookie(name, value, options).length <= MAX_COOKIE_BYTES) {
    lines.push(serializeCookie(name, value, options));
    written.add(name);
  } else {
    for (let i = 0, at = 0; at < value.length; i++, at += room) {
      lines.push(serializeCookie(`${name}.${i}`, value.slice(at, at + room), options));
      written.add(`${name}.${i}`);
    }
  }
  for (const stale of cookieNames(name, present)) if (!written.has(stale)) lines.push(clearCookie(stale, options.secure));
  return lines;
}

/** The names of a (possibly chunked) cookie the request sent. */
export function cookieNames(name: string, present: RequestCookies): string[] {
  const out: string[] = [];
  const prefix = `${name}.`;
  for (const key of present.keys()) {
    if (key === name || (key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length)))) out.push(key);
  }
  return out;
}

/** The value of a (possibly chunked) cookie: `<name>`, or `<name>.0`, `.1`, … joined until the first gap. */
export function readChunked(name: string, present: RequestCookies): string | undefined {
  const whole = present.get(name);
  if (whole !== undefined) return whole;
  let value = '';
  for (let i = 0; ; i++) {
    const chunk = present.get(`${name}.${i}`);
    if (chunk === undefined) return i === 0 ? undefined : value;
    value += chunk;
  }
}

/**
 * The `Cookie` header without the named cookies (and their chunks): what the app or upstream
 * receives, so the session never travels further than the gateway. Undefined when nothing is left.
 */
export function withoutCookies(header: string, names: readonly string[]): string | undefined {
  const kept = header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => {
      if (!pair) return false;
      const name = pair.slice(0, Math.max(0, pair.indexOf('='))).trim();
      return !names.some((n) => name === n || (name.startsWith(`${n}.`) && /^\d+$/.test(name.slice(n.length + 1))));
    });
  return kept.length > 0 ? kept.join('; ') : undefined;
}
