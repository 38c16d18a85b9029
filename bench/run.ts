/**
 * `npm run bench`: starts each stack as its own process on loopback, drives it with autocannon
 * from this process, and prints requests per second, p50/p99 latency, errors, non-2xx counts and
 * tollgate/peer ratios, all measured in one run. Writes docs/benchmarks.md and docs/benchmarks.svg.
 *
 * Environment: BENCH_DURATION (seconds per stack, default 8), BENCH_CONNECTIONS (default 32),
 * BENCH_ONLY (comma-separated stack ids), BENCH_NO_WRITE=1 (print only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { writeReport, type Comparison, type Measurement } from './report';
import { STACKS, COMPARISONS, type Stack } from './catalog';
import { extraFigures } from './figures';

const duration = Number(process.env.BENCH_DURATION ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const tsx = join(__dirname, '../node_modules/tsx/dist/cli.mjs');

/** Starts a TypeScript file as a child process and waits for its first line matching `ready`. */
export function start(file: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsx, file], { env: { ...process.env, NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${file} did not start within 30 s`));
    }, 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!ready.test(line)) return;
      clearTimeout(timer);
      resolve({ child, line });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before it was ready`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function measure(stack: Stack, env: Record<string, string>, token: string): Promise<Measurement> {
  const { child, line } = await start(join(__dirname, 'stacks', `${stack.file}.ts`), { ...env, ...(stack.env ?? {}) }, /^READY \d+$/);
  const port = Number(line.split(' ')[1]);
  const headers: Record<string, string> = stack.auth ? { authorization: `Bearer ${token}` } : {};
  let counter = 0;
  const options = {
    url: `http://127.0.0.1:${port}${stack.path}`,
    connections,
    headers,
    ...(stack.distinctPaths ? { requests: [{ setupRequest: (req: { path: string }) => ({ ...req, path: `${stack.path}?miss=${counter++}` }) }] } : {}),
  };
  try {
    // Warm-up: JIT, caches, connection pools. Then the measured run.
    await autocannon({ ...options, duration: 2 } as autocannon.Options);
    const r = await autocannon({ ...options, duration } as autocannon.Options);
    return {
      id: stack.id,
      label: stack.label,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.errors + r.timeouts,
      non2xx: r.non2xx,
      requests: r.requests.total,
    };
  } finally {
    await stop(child);
  }
}

async function main() {
  const fixtures = await start(join(__dirname, 'fixtures.ts'), {}, /^\{/);
  const f = JSON.parse(fixtures.line) as { upstreamUrl: string; issuerUrl: string; audience: string; token: string };
  const env = { UPSTREAM_URL: f.upstreamUrl, ISSUER_URL: f.issuerUrl, AUDIENCE: f.audience };
  const results = new Map<string, Measurement>();
  try {
    for (const stack of STACKS) {
      if (only && !only.includes(stack.id)) continue;
      process.stderr.write(`bench: ${stack.label} … `);
      const m = await measure(stack, env, f.token);
      results.set(stack.id, m);
      process.stderr.write(`${Math.round(m.rps)} req/s, p99 ${m.p99} ms, non-2xx ${m.non2xx}, errors ${m.errors}\n`);
    }
  } finally {
    await stop(fixtures.child);
  }
  const comparisons: Comparison[] = COMPARISONS.filter((c) => results.has(c.ours) && results.has(c.peer)).map((c) => ({
    ...c,
    ratio: results.get(c.ours)!.rps / results.get(c.peer)!.rps,
  }));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const figures = only ? [] : await extraFigures();
  writeReport({ machine, duration, connections, measurements: [...results.values()], comparisons, figures, write: process.env.BENCH_NO_WRITE !== '1' });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
