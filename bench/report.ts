/** Prints the results and writes docs/benchmarks.md with an SVG bar chart of the ratios. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonSpec } from './catalog';

export interface Measurement {
  id: string;
  label: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
  /** CPU time of the stack's process per request, µs (median round; Linux /proc only). */
  cpuUs?: number;
}

export interface Comparison extends ComparisonSpec {
  ratio: number;
}

export interface Figure {
  name: string;
  value: string;
  goal?: string;
  met?: boolean;
}

/** One watched stack against the previous run: each relative to the baseline stack of its own run. */
export interface Regression {
  id: string;
  label: string;
  /** This run: req/s of the stack ÷ req/s of the baseline. */
  now: number;
  /** The previous run, the same way. */
  then: number;
  goal: number;
}

/** The req/s of each stack in a report docs/benchmarks.md held, by label. */
export function previousFigures(markdown: string): Map<string, number> {
  const figures = new Map<string, number>();
  const table = markdown.split('## Throughput and latency')[1]?.split('\n## ')[0] ?? '';
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const rps = Number(cells[2]?.replace(/,/g, ''));
    if (cells[1] && Number.isFinite(rps) && rps > 0) figures.set(cells[1], rps);
  }
  return figures;
}

/** The watched stacks of this run against the previous report, where both runs measured them and the baseline. */
export function regressions(measurements: Measurement[], previous: Map<string, number>, watch: { ids: string[]; baseline: string; goal: number }): Regression[] {
  const base = measurements.find((m) => m.id === watch.baseline);
  const baseThen = base && previous.get(base.label);
  if (!base || !baseThen) return [];
  return watch.ids.flatMap((id) => {
    const m = measurements.find((x) => x.id === id);
    const then = m && previous.get(m.label);
    return m && then ? [{ id, label: m.label, now: m.rps / base.rps, then: then / baseThen, goal: watch.goal }] : [];
  });
}

interface Report {
  machine: string;
  duration: number;
  rounds: number;
  connections: number;
  measurements: Measurement[];
  comparisons: Comparison[];
  figures: Figure[];
  /** Watched stacks against the previous run (empty when there is none to compare with). */
  regressions?: Regression[];
  write: boolean;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** Two decimals, or three where two would round a missed goal up to it (0.748 is not 0.75). */
const ratioText = (c: Comparison) => (c.ratio < c.goal && Number(c.ratio.toFixed(2)) >= c.goal ? c.ratio.toFixed(3) : c.ratio.toFixed(2));

function svg(comparisons: Comparison[]): string {
  const barH = 26;
  const left = 300;
  const width = 760;
  const scale = (width - left - 80) / Math.max(2.5, ...comparisons.map((c) => Math.max(c.ratio, c.goal)));
  const rows = comparisons.map((c, i) => {
    const y = 30 + i * (barH + 10);
    const w = Math.max(1, c.ratio * scale);
    const met = c.ratio >= c.goal;
    return [
      `<text x="${left - 8}" y="${y + 18}" text-anchor="end" font-size="13">${c.name}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${met ? '#2f855a' : '#c05621'}"/>`,
      `<line x1="${(left + c.goal * scale).toFixed(1)}" x2="${(left + c.goal * scale).toFixed(1)}" y1="${y - 3}" y2="${y + barH + 3}" stroke="#1a202c" stroke-dasharray="3,2"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 18}" font-size="13">${ratioText(c)}×</text>`,
    ].join('');
  });
  const height = 50 + comparisons.length * (barH + 10);
  const one = left + scale;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<text x="10" y="18" font-size="14" font-weight="bold">tollgate / peer throughput (dashed line: goal; green: met)</text>`,
    `<line x1="${one}" x2="${one}" y1="24" y2="${height - 10}" stroke="#a0aec0"/>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * The ratios as time: each stack is one saturated process, so 1,000,000 / req/s is roughly the
 * microseconds of CPU one request costs it. Shows how far a goal is in time, not just as a ratio.
 */
function costTable(r: Report): string {
  const us = (id: string): number | undefined => {
    const m = r.measurements.find((x) => x.id === id);
    return m && m.rps > 0 ? 1e6 / m.rps : undefined;
  };
  const f = (n: number) => n.toFixed(1);
  const rows = r.comparisons.flatMap((c) => {
    const ours = us(c.ours);
    const peer = us(c.peer);
    if (ours === undefined || peer === undefined) return [];
    // ours ≤ peer / goal meets the goal.
    return [`| ${c.name} | ${f(ours)} | ${f(peer)} | ${f(peer / c.goal)} | ${ours <= peer / c.goal ? 'met' : f(ours - peer / c.goal)} |`];
  });
  if (rows.length === 0) return '';
  return [
    '| comparison | tollgate µs/request | peer µs/request | goal: tollgate at most | over the goal by µs |',
    '|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

/** What each pair does differently on the measured path (true of every run, unlike the figures). */
const NOTES = `What the stacks do differently on the measured path:

- **cache hit**: apicache looks the URL up and replays the entry (a JSON body goes out chunked,
  with no \`Content-Length\`). tollgate's hit builds the request context every plugin shares, keys
  the entry on consumer, method, path and sorted query (a SHA-256), and sends \`X-Cache-Status\`,
  \`X-Cache-Key\`, \`Age\`, \`Content-Length\` and \`X-Tollgate-Response-Latency\`. apicache's URL key is
  what lets it serve one user's response to another (docs/migrating.md).
- **full stack hit**: the peer verifies the RS256 signature on every request
  (express-oauth2-jwt-bearer keeps no verified-token cache); tollgate verifies a token once and
  then looks it up by its SHA-256. Bare Express's response has 6 header lines; the full stack's
  hit has 17 (the replayed ones plus Kong's rate-limit and cache headers), and Node validates and
  serialises each.`;

/** Which host to choose, and what the CPU column means (true of every run, unlike the figures). */
const HOSTS = `## Which host to choose

The policies are the same objects on every host, so the choice is about the rest of the service:

- **\`tollgate/node\`** when the service *is* the gateway — policies in front of upstreams, no
  routes of its own. Nothing runs besides Node's HTTP server and tollgate, so it costs the least
  per request (compare it with bare node:http below).
- **\`tollgate/fastify\`** when the app has routes of its own and you can choose the framework:
  Fastify's request handling costs a fraction of Express's, and its encapsulation decides which
  routes a gateway polices.
- **\`tollgate/express\`** or **\`tollgate/koa\`** in an existing Express or Koa app: the
  policies cost about what the libraries they replace cost, and Express's own per-request work
  (routing, its request and response objects) sets the ceiling, not tollgate.

The upstream proxy sends through undici on every host; with \`agent\` it uses node:http (the
"node:http client" stacks measure that path on the same load). The CPU column is the stack
process's CPU time per request (user + system, from /proc): unlike req/s it hardly moves when
other work shares the machine.`;

export function writeReport(r: Report): void {
  const table = [
    '| stack | req/s | p50 ms | p99 ms | errors | non-2xx | CPU µs/request |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.measurements.map((m) => `| ${m.label} | ${fmt(m.rps)} | ${m.p50} | ${m.p99} | ${m.errors} | ${m.non2xx} | ${m.cpuUs === undefined ? '' : m.cpuUs.toFixed(1)} |`),
  ].join('\n');
  const ratios = [
    '| comparison | ratio (tollgate / peer) | goal | met |',
    '|---|---:|---:|:---:|',
    ...r.comparisons.map((c) => `| ${c.name} | ${ratioText(c)}× | ≥ ${c.goal}× | ${c.ratio >= c.goal ? 'yes' : 'no'} |`),
  ].join('\n');
  const figures = r.figures.length
    ? ['| figure | value | goal |', '|---|---:|---|', ...r.figures.map((f) => `| ${f.name} | ${f.value} | ${f.goal ?? ''} |`)].join('\n')
    : '';
  const costs = costTable(r);
  const regressed = r.regressions?.length
    ? [
        '| stack | this run ÷ bare Express | previous run ÷ bare Express | change | goal | met |',
        '|---|---:|---:|---:|---:|:---:|',
        ...r.regressions.map((g) => `| ${g.label} | ${g.now.toFixed(3)} | ${g.then.toFixed(3)} | ${(g.now / g.then).toFixed(2)}× | ≥ ${g.goal}× | ${g.now / g.then >= g.goal ? 'yes' : 'no'} |`),
      ].join('\n')
    : '';
  console.log(`\n${table}\n\n${ratios}\n${costs ? `\n${costs}\n` : ''}${regressed ? `\n${regressed}\n` : ''}${figures ? `\n${figures}\n` : ''}`);
  if (!r.write) return;
  const doc = `# Benchmarks

Measured by \`npm run bench\` (bench/run.ts): every stack runs as its own process on loopback and
is driven by autocannon from the harness process with ${r.connections} connections. After a 2 s
warm-up of each, the harness goes round all the stacks ${r.rounds} times, ${r.duration} s each, and
a stack's figure is its median round — so drift on a shared machine touches every stack alike.
Absolute figures drift; the ratios, measured in one run, are what to compare. Rerun it on your
machine: \`npm run bench\`. To see where one stack's time goes, \`npm run bench:profile -- cache\`
(any stack id of bench/catalog.ts) profiles it under the same load.

Machine: ${r.machine}.

${HOSTS}

## Throughput and latency

${table}

## Ratios

![ratios](benchmarks.svg)

${ratios}
${costs ? `\n## The ratios as time per request\n\nEach stack is one process kept busy by the load, so 1,000,000 / req/s is about the microseconds of CPU\na request costs it. Where a goal is not met, the last column is how much time tollgate would have\nto save per request to meet it.\n\n${costs}\n\n${NOTES}\n` : ''}${regressed ? `\n## Express stacks against the previous run\n\nIssue 19's condition that the Express figures do not regress: each watched stack's req/s relative to\nbare Express in this run, against the same in the run docs/benchmarks.md held before it (so a\nfaster or slower machine moves both sides alike).\n\n${regressed}\n` : ''}${figures ? `\n## Other figures\n\n${figures}\n` : ''}`;
  writeFileSync(join(__dirname, '../docs/benchmarks.md'), doc);
  writeFileSync(join(__dirname, '../docs/benchmarks.svg'), svg(r.comparisons));
}
