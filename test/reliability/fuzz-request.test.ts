/**
 * Malformed requests through the full stack in its own process (credentials also read from the
 * query here): huge headers, invalid query strings and paths, odd methods, broken bodies. Never a
 * 500, never a hang, never a crash; Node's own 400/431 (and Express's 404) are fine. The process serves afterwards.
 */
import { json, sendRaw, tally, type Outcome } from './support/client';
import { answeredBy, rawRequest, startFullStack, type FullStack } from './support/full-stack';
import { useJournal } from './support/journal';

const journal = useJournal('fuzz-request');

let stack: FullStack;
let bearer: string;
beforeAll(async () => {
  stack = await startFullStack(journal, { paramTypes: ['header', 'query'] });
  bearer = await stack.bearer();
});
afterAll(() => stack.close());

const raw = (method: string, target: string | Buffer, headers: [string, string | Buffer][] = [], body?: Buffer | string) =>
  sendRaw(journal, stack.gateway.port, rawRequest(method, target, headers, body));
const authed = (method: string, target: string | Buffer, headers: [string, string | Buffer][] = [], body?: Buffer | string) =>
  raw(method, target, [['Authorization', bearer], ...headers], body);

/** No answer of 500 or more, and every request answered (or closed by Node's parser). */
function expectNoServerError(outcomes: Outcome[]): void {
  for (const o of outcomes) {
    expect(o.error).not.toBe('TIMEOUT');
    if (o.status !== undefined) expect(o.status).toBeLessThan(500);
  }
}

describe('the full stack with malformed requests', () => {
  const figures: Record<string, Record<string, number>> = {};
  afterAll(() => journal.figure('who answered, per group', figures));

  it('huge headers: up to the limit served, over it 431 from Node, a huge token 401', async () => {
    const fill = (bytes: number) => 'x'.repeat(bytes);
    const cases: [string, () => Promise<Outcome>, string[]][] = [
      ['12 KB header, valid token', () => authed('GET', '/api/get', [['X-Padding', fill(12_000)]]), ['upstream 200']],
      // Under Node's 16 KB at the gateway, over it once the proxy adds its forwarding headers: the upstream's Node answers 431.
      ['16,000-byte head', () => authed('GET', '/api/get', [['X-Padding', fill(16_000 - 200 - bearer.length)]]), ['upstream 200', 'upstream 431']],
      ['16,500-byte head', () => authed('GET', '/api/get', [['X-Padding', fill(16_500)]]), ['framework 431']],
      ['64 KB header', () => authed('GET', '/api/get', [['X-Padding', fill(65_536)]]), ['framework 431']],
      ['1,400 small headers', () => authed('GET', '/api/get', Array.from({ length: 1_400 }, (_, i): [string, string] => [`x-${i}`, 'v'])), ['upstream 200']],
      ['3,000 tiny headers (over maxHeadersCount)', () => authed('GET', '/api/get', Array.from({ length: 3_000 }, (_, i): [string, string] => [`h${i}`, ''])), ['upstream 200', 'tollgate 401']],
      ['15,000-character bearer token', () => raw('GET', '/api/get', [['Authorization', `Bearer ${'a'.repeat(15_000)}`]]), ['tollgate 401']],
      ['17,000-character Authorization', () => raw('GET', '/api/get', [['Authorization', `Bearer ${'a'.repeat(17_000)}`]]), ['framework 431']],
      ['12 KB Basic credentials', () => raw('GET', '/api/get', [['Authorization', `Basic ${Buffer.from(`id:${'s'.repeat(9_000)}`).toString('base64')}`]]), ['tollgate 401']],
    ];
    const outcomes: Outcome[] = [];
    for (const [name, run, allowed] of cases) {
      const o = await run();
      outcomes.push(o);
      const answered = answeredBy(o);
      expect({ name, answered: allowed.includes(answered) ? 'as allowed' : answered }).toEqual({ name, answered: 'as allowed' });
    }
    expectNoServerError(outcomes);
    figures['huge headers'] = tally(outcomes, answeredBy);
  });

  it('invalid query strings and paths: proxied or refused with 4xx, never 5xx; odd keys are cached like others', async () => {
    const targets: (string | Buffer)[] = [
      '/api/get?%zz',
      '/api/get?%',
      '/api/get?a=%',
      '/api/get?a=%E0%A4%A',
      '/api/get?x=%ED%A0%80', // a lone surrogate, UTF-8 encoded
      '/api/get?x=%uD800',
      '/api/get?x=%F0%9F%98', // a truncated 4-byte sequence
      '/api/get?%00=%00',
      '/api/get?a[b]=1&a[c][d]=2&a[]=3',
      '/api/get?__proto__[polluted]=1&constructor[prototype][polluted]=2',
      '/api/get?&&&==&=',
      `/api/get?${'a=1&'.repeat(2_000)}`,
      '/api/get?client_id=%zz&client_secret=%',
      '/api/get?client_id=&client_secret=',
      '/api/get?x=a%2Bb+c%20d',
      Buffer.concat([Buffer.from('/api/get?x='), Buffer.from([0xed, 0xa0, 0x80])]), // raw lone-surrogate bytes
      Buffer.concat([Buffer.from('/api/get?x='), Buffer.from([0xff, 0xfe, 0x00])]),
      '/api/%zz',
      '/api/get/%ED%A0%80',
      '/api/..%2f..%2fetc%2fpasswd',
      '/api/../../etc/passwd',
      '/api//get',
      '/api/get#fragment',
      '*',
      'http://evil.example/api/get',
    ];
    const outcomes: Outcome[] = [];
    for (const target of targets) outcomes.push(await authed('GET', target));
    expectNoServerError(outcomes);
    const verdicts = tally(outcomes, answeredBy);
    // Counted exactly (Node 20's parser): 2 raw non-ASCII targets refused by Node, '*' unrouted by
    // Express, '/api/../../etc/passwd' refused by tollgate (its dot segments leave the mount), 4
    // paths the upstream does not have, everything else proxied.
    expect(verdicts).toEqual({ 'upstream 200': 17, 'upstream 404': 4, 'tollgate 400': 1, 'framework 400': 2, 'framework 404': 1 });
    // A token in the header and a different one in the query is a conflict: 400, not a 500.
    const conflict = await authed('GET', '/api/get?access_token=%zz');
    expect([conflict.status, json(conflict)]).toEqual([400, { message: 'Bad Request' }]);
    // A malformed query is a cache key like any other.
    const [miss, hit] = [await authed('GET', '/api/get?%zz=%&odd'), await authed('GET', '/api/get?%zz=%&odd')];
    expect([miss.headers['x-cache-status'], hit.headers['x-cache-status']]).toEqual(['Miss', 'Hit']);
    figures['invalid queries and paths'] = verdicts;
  });

  it('query-borne client credentials: served, and the secret never reaches the upstream', async () => {
    const { id, secret } = stack.client;
    const o = await raw('GET', `/api/anything?client_id=${encodeURIComponent(id)}&client_secret=${encodeURIComponent(secret)}&keep=%zz`);
    expect(answeredBy(o)).toBe('upstream 200');
    const seen = json(o) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/anything?keep=%zz');
    journal.token(seen.headers.authorization!.slice(7));
  });

  it('odd methods: answered by the stack or refused by Node, never 5xx', async () => {
    const known = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'PURGE', 'SEARCH', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'LINK', 'UNLINK', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'SOURCE', 'QUERY', 'TRACE', 'OPTIONS', 'PATCH', 'DELETE', 'PUT', 'POST', 'HEAD', 'ACL', 'BIND', 'REBIND', 'UNBIND', 'MKCALENDAR'];
    const refused = ['FOO', 'get', 'G-E-T', 'GETT', 'PRI', ''.padEnd(40, 'X')];
    const outcomes: Outcome[] = [];
    for (const method of known) {
      const o = await authed(method, '/api/anything', [], method === 'HEAD' ? undefined : '{"a":1}');
      outcomes.push(o);
      expect({ method, answered: answeredBy(o) }).toEqual({ method, answered: expect.stringMatching(/^(upstream [1-4]\d\d|tollgate 4\d\d|framework 400|closed)$/) });
    }
    for (const method of [...known, ...refused]) {
      const o = await raw(method, '/api/anything');
      outcomes.push(o);
      expect({ method, answered: answeredBy(o) }).toEqual({ method, answered: expect.stringMatching(/^(tollgate 401|framework 400|closed)$/) });
    }
    // CONNECT has no route through a gateway: Node closes it, nothing hangs.
    outcomes.push(await authed('CONNECT', '127.0.0.1:1'));
    expectNoServerError(outcomes);
    expect(tally(outcomes, answeredBy)).toEqual({ 'upstream 200': known.length, 'tollgate 401': known.length, 'framework 400': refused.length, closed: 1 });
    figures['odd methods'] = tally(outcomes, answeredBy);
  });

  it('broken bodies: malformed chunked encoding and a body on GET, never 5xx', async () => {
    const outcomes = [
      await sendRaw(journal, stack.gateway.port, `POST /api/anything HTTP/1.1\r\nHost: g\r\nAuthorization: ${bearer}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`),
      await sendRaw(journal, stack.gateway.port, `POST /api/anything HTTP/1.1\r\nHost: g\r\nAuthorization: ${bearer}\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`),
      await sendRaw(journal, stack.gateway.port, `POST /api/anything HTTP/1.1\r\nHost: g\r\nAuthorization: ${bearer}\r\nContent-Length: -1\r\nConnection: close\r\n\r\n`),
      await sendRaw(journal, stack.gateway.port, `POST /api/anything HTTP/1.1\r\nHost: g\r\nAuthorization: ${bearer}\r\nContent-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd`),
      await authed('GET', '/api/anything', [['Content-Type', 'application/json']], '{"not":"json"'),
      await authed('POST', '/api/anything', [['Content-Type', 'application/x-www-form-urlencoded']], 'client_id=%zz&client_secret=%&access_token=%'),
    ];
    expectNoServerError(outcomes);
    for (const o of outcomes) expect(o.status).toBeDefined();
    figures['broken bodies'] = tally(outcomes, answeredBy);
  });

  it('still serves afterwards, logged no error, printed no stack trace', async () => {
    const ok = await authed('GET', '/api/get?after=fuzz');
    expect(answeredBy(ok)).toBe('upstream 200');
    expect(stack.gateway.alive).toBe(true);
    expect(stack.gateway.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(stack.gateway.other).toEqual([]);
  });
});
