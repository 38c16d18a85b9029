/**
 * What the login tests share: a cookie jar that keeps what `Set-Cookie` lines say (as a browser
 * would, attributes aside), and the whole sign-in through the test issuer's page.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestIssuer } from 'tollgate/testing';

/** One parsed `Set-Cookie` line. */
export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names lower-cased, with their values ('' for flags). */
  attributes: Record<string, string>;
  line: string;
}

export function parseSetCookie(line: string): SetCookie {
  const [pair, ...attrs] = line.split(';').map((s) => s.trim());
  const eq = pair!.indexOf('=');
  const attributes: Record<string, string> = {};
  for (const a of attrs) {
    const i = a.indexOf('=');
    attributes[(i === -1 ? a : a.slice(0, i)).toLowerCase()] = i === -1 ? '' : a.slice(i + 1);
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes, line };
}

/** The `Set-Cookie` lines of a response (fetch `Response` or supertest). */
export function setCookies(res: Response | { headers: Record<string, unknown> }): SetCookie[] {
  const lines = res instanceof Response ? res.headers.getSetCookie() : ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []);
  return lines.map(parseSetCookie);
}

/** A browser's cookies for one host, minus expiry by date. */
export class Jar {
  readonly cookies = new Map<string, string>();

  /** Applies a response's `Set-Cookie` lines: Max-Age=0 deletes. */
  update(res: Response | { headers: Record<string, unknown> }): this {
    for (const c of setCookies(res)) {
      if (c.attributes['max-age'] === '0') this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return this;
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  clone(): Jar {
    const copy = new Jar();
    for (const [k, v] of this.cookies) copy.cookies.set(k, v);
    return copy;
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A server on 127.0.0.1 (a free port) whose handler is given later: the app's `redirectUri`
 * needs the port first.
 */
export async function listen(): Promise<{ url: string; serve(handler: Handler): void; close(): Promise<void> }> {
  let current: Handler = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => current(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve: (handler) => void (current = handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/**
 * One request over node:http, answered as a fetch `Response` (redirects not followed). Node's own
 * fetch cannot stand in for a browser's page load: it always sends `Sec-Fetch-Mode: cors`.
 */
export function send(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) for (const v of ([] as string[]).concat(value ?? [])) headers.append(name, v);
        const body = res.statusCode === 204 || res.statusCode === 304 ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status: res.statusCode!, headers }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A browser's page load: HTML accepted, `Sec-Fetch-Mode: navigate`, the jar's cookies, no redirect followed. */
export async function navigate(url: string, jar: Jar, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const res = await send(url, {
    method: init.method ?? 'GET',
    headers: { accept: HTML, 'sec-fetch-mode': 'navigate', ...(jar.cookies.size > 0 ? { cookie: jar.header() } : {}), ...init.headers },
  });
  jar.update(res);
  return res;
}

/**
 * Signs in through the gateway at `base` and the test issuer: the page, its redirect, the issuer's
 * login form, the callback. Returns the callback's answer (the jar then holds the session).
 */
export async function signIn(base: string, path: string, idp: TestIssuer, jar: Jar, options?: Parameters<TestIssuer['authorize']>[1]): Promise<Response> {
  const first = await navigate(`${base}${path}`, jar);
  if (first.status !== 302) throw new Error(`expected a redirect to the issuer, got ${first.status}`);
  const callback = await idp.authorize(first.headers.get('location')!, options);
  return navigate(callback, jar);
}

/** A response's JSON body, loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const jsonOf = (res: Response): Promise<any> => res.json();
