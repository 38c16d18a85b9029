/**
 * Request paths in the forms tollgate decides on.
 *
 * A gateway that decides on the path as sent and forwards it as sent lets `/api/../admin`,
 * `/api/%2e%2e/admin` and `/api/./x` mean one thing to the gateway and another to the upstream,
 * which resolves them. So, as Kong does before routing, the path is normalised once (RFC 3986
 * §6.2.2) and everything after — mount checks, rate-limit identifiers, cache keys and the path
 * sent upstream — uses that one form. Repeated slashes are kept there (an upstream may give
 * `a//b` a meaning of its own); only the identifiers fold them, together with case and a trailing
 * slash, because routers treat those spellings as one route.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4 — remove_dot_segments
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2 — syntax-based normalisation
 */

const ESCAPE = /%([0-9A-Fa-f]{2})/g;
// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~"
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Decodes escapes of unreserved characters and upper-cases the others (RFC 3986 §6.2.2.1-2). */
function normaliseEscapes(path: string): string {
  return path.replace(ESCAPE, (_m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/** RFC 3986 §5.2.4 for an absolute path: `.` segments go, `..` removes the segment before it. */
function removeDotSegments(path: string): string {
  const input = path.split('/');
  const out: string[] = [];
  const last = input.length - 1;
  for (let i = 1; i <= last; i++) {
    const segment = input[i]!;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      // `/a/b/.` and `/a/b/..` name a directory: they keep their trailing slash.
      if (i === last) out.push('');
      continue;
    }
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * The path of a request target in normal form. An absolute-form target (`http://host/x`, RFC 9112
 * §3.2.2) is reduced to its path; the query is not part of the input.
 *
 * @example
 * ```ts
 * normalizePath('/api/%2E%2e/admin'); // '/admin'
 * normalizePath('/a/./b/%7euser');    // '/a/b/~user'
 * ```
 */
export function normalizePath(raw: string): string {
  let path = raw;
  if (path.charCodeAt(0) !== 0x2f /* / */) {
    if (path === '*') return path;
    try {
      // The URL parser removes dot segments itself; what is left is done below.
      path = new URL(path).pathname;
    } catch {
      path = `/${path}`;
    }
  }
  // Nearly every path has nothing to change: two scans and no allocation.
  if (path.includes('%')) path = normaliseEscapes(path);
  if (path.includes('/.')) path = removeDotSegments(path);
  return path;
}

/**
 * The path relative to a mount prefix, both already normal, or `undefined` when the path is not
 * under the prefix (dot segments took it out: `/api/../admin` is not under `/api`).
 */
export function underMount(path: string, mountPath: string): string | undefined {
  if (mountPath === '' || mountPath === '/') return path;
  if (!path.startsWith(mountPath)) return undefined;
  if (path.length === mountPath.length) return '/';
  return path.charCodeAt(mountPath.length) === 0x2f ? path.slice(mountPath.length) : undefined;
}

/**
 * The form of a path that identifies a route: what a router treats as one route is one string
 * here, so a client cannot split or dodge a rate-limit budget by spelling (`/login`, `/LOGIN`,
 * `//login`, `/login/`). Case is always folded: a router that tells `/a` from `/A` never sends both
 * to one gateway, while an upstream behind it may well read them as one.
 */
export function routeIdentity(path: string): string {
  let id = path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
  if (id.length > 1 && id.endsWith('/')) id = id.slice(0, -1);
  return id.toLowerCase();
}
