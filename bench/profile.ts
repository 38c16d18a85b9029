/**
 * `npm run bench:profile -- <stack id>`: where one stack's time goes. Starts the fixtures and the
 * stack (ids as in bench/catalog.ts: cache, full-hit, bearer, …) under `node --cpu-prof`, drives
 * it with autocannon like the benchmark does, and prints the functions with the most self time and
 * the share of tollgate's own code (dist/). The profile is left in .bench-profiles/ for Chrome
 * DevTools or speedscope.
 *
 * Environment: BENCH_DURATION (seconds of load after a 2 s warm-up, default 8),
 * BENCH_CONNECTIONS (default 32).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { STACKS } from './catalog';
import { loadOptions, startFixtures, startStack, stop } from './processes';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const dir = join(__dirname, '../.bench-profiles');

/** Self samples per function, and the share of those in tollgate's compiled code. */
export function summarise(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let ours = 0;
  for (const id of profile.samples) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.replace(/^file:\/\//, '');
    const where = file.includes('/node_modules/') ? file.slice(file.lastIndexOf('/node_modules/') + 14) : file.replace(/^.*\/(dist|bench)\//, '$1/');
    const key = `${frame.functionName || '(anonymous)'} ${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    if (/\/dist\//.test(file) && !file.includes('/node_modules/')) ours++;
  }
  const total = profile.samples.length;
  const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [`${total} samples; tollgate's own code (dist/): ${pct(ours).trim()}`, ...rows.map(([k, n]) => `${pct(n)}  ${k}`)].join('\n');
}

async function main() {
  const id = process.argv[2];
  const stack = STACKS.find((s) => s.id === id);
  if (!stack) throw new Error(`usage: npm run bench:profile -- <stack id>; one of ${STACKS.map((s) => s.id).join(', ')}`);
  const duration = Number(process.env.BENCH_DURATION ?? 8);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const fixtures = await startFixtures();
  const s = await startStack(stack, fixtures.env, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  try {
    const options = loadOptions(stack, s.port, fixtures.fixtures.token, connections);
    await autocannon({ ...options, duration: 2 });
    const result = await autocannon({ ...options, duration });
    console.log(`${stack.label}: ${Math.round(result.requests.average)} req/s under the profiler (slower than without it)`);
  } finally {
    await stop(s.child); // the stack exits on SIGTERM, and node writes the profile
    await stop(fixtures.child);
  }
  // The main thread's profile is the largest (tsx's loader thread writes a small one too).
  const files = readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'));
  const largest = files.map((n) => ({ n, p: JSON.parse(readFileSync(join(dir, n), 'utf8')) as Profile })).sort((a, b) => b.p.samples.length - a.p.samples.length)[0];
  if (!largest) throw new Error('the stack wrote no profile');
  console.log(summarise(largest.p));
  console.log(`\nprofile: ${join(dir, largest.n)}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
