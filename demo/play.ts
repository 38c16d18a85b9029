/**
 * Plays the Kong + Auth0 walkthrough against a running gateway and returns what a person would
 * see: each request as a curl command, then the status and the headers that matter.
 */
export interface Step {
  title: string;
  curl: string;
  status: number;
  headers: Record<string, string>;
  /** The body, or the part of the upstream's echo that matters. */
  note: string;
}

const SHOWN = [
  'WWW-Authenticate',
  'X-Cache-Status',
  'Age',
  'X-RateLimit-Limit-Minute',
  'X-RateLimit-Remaining-Minute',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Retry-After',
  'Via',
  'X-Tollgate-Upstream-Latency',
  'X-Tollgate-Proxy-Latency',
  'X-Tollgate-Response-Latency',
];

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Shortens a token so the output shows it was injected without printing all of it. */
const shorten = (value: string) => value.replace(/(Bearer [A-Za-z0-9_-]{12})[A-Za-z0-9._-]+/, '$1…');

export async function play(base: string, clientId: string, clientSecret: string): Promise<Step[]> {
  // Kong's minute window is aligned to the clock: a story that straddled a minute would see the
  // countdown start again halfway. It takes well under five seconds, so wait out a late start.
  const second = new Date().getUTCSeconds();
  if (second >= 55) await new Promise((r) => setTimeout(r, (60 - second) * 1000 + 50));
  const host = base.replace(/^https?:\/\//, '');
  const steps: Step[] = [];
  const send = async (title: string, credentials?: [string, string]) => {
    const headers: Record<string, string> = credentials ? { authorization: basic(...credentials) } : {};
    const res = await fetch(`${base}/httpbin/get`, { headers });
    const text = await res.text();
    let note = text;
    try {
      const body = JSON.parse(text) as { headers?: Record<string, string>; message?: string };
      if (body.headers) note = `upstream received Authorization: ${shorten(body.headers.authorization ?? '(none)')}`;
    } catch {
      // not JSON: show as is
    }
    const shown: Record<string, string> = {};
    for (const name of SHOWN) {
      const value = res.headers.get(name);
      if (value !== null) shown[name] = value;
    }
    steps.push({ title, curl: `curl -i ${credentials ? `-u ${credentials[0]}:${credentials[1]} ` : ''}${host}/httpbin/get`, status: res.status, headers: shown, note });
  };
  await send('no credentials');
  await send('a wrong client secret', [clientId, 'wrong-secret']);
  await send('the machine client: the gateway exchanges its id and secret for a token (Miss)', [clientId, clientSecret]);
  for (let i = 2; i <= 5; i++) await send(`request ${i} of the minute (Hit)`, [clientId, clientSecret]);
  await send('request 6 of the minute: over the limit', [clientId, clientSecret]);
  return steps;
}

/** Formats the steps like the Kong walkthrough's terminal output. */
export function format(steps: Step[]): string {
  return steps
    .map((s, i) =>
      [
        `# ${i + 1}. ${s.title}`,
        `$ ${s.curl}`,
        `HTTP ${s.status}`,
        ...Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`),
        s.note,
        '',
      ].join('\n'),
    )
    .join('\n');
}
