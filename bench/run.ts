/**
 * `npm run bench`: starts each stack as its own process on loopback, drives it with autocannon
 * from this process, and prints requests per second, p50/p99 latency, errors, non-2xx counts and
 * tollgate/peer ratios, all measured in one run. Writes docs/benchmarks.md and docs/benchmarks.svg.
 *
 * Environment: BENCH_DURATION (seconds per stack and round, default 4), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 32),
 * BENCH_ONLY (comma-separated stack ids), BENCH_NO_WRITE=1 (print only).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { previousFigures, regressions, writeReport, type Comparison, type Measurement } from './report';
import { STACKS, COMPARISONS, REGRESSION_WATCH, type Stack } from './catalog';
import { extraFigures } from './figures';
import { loadOptions, startFixtures, startStack, stop } from './processes';

const duration = Number(process.env.BENCH_DURATION ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);

interface Running {
  stack: Stack;
  child: ChildProcess;
  options: autocannon.Options;
  rounds: autocannon.Result[];
  /** CPU µs per request of the stack's process, per round (where /proc tells). */
  cpu: number[];
}

/**
 * CPU time (user + system) a process and its children have used, in ms, from /proc (Linux), or
 * undefined. The stack runs in a child of tsx's command line. Unlike req/s, CPU per request hardly
 * moves when other work shares the machine.
 */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, in clock ticks (100 per second on Linux).
  let ms = (Number(fields[11]) + Number(fields[12])) * 10;
  const children = `/proc/${pid}/task/${pid}/children`;
  if (existsSync(children)) {
    for (const child of readFileSync(children, 'utf8').trim().split(/\s+/).filter(Boolean)) ms += cpuMs(Number(child)) ?? 0;
  }
  return ms;
}

async function launch(stack: Stack, env: Record<string, string>, token: string): Promise<Running> {
  const { child, port } = await startStack(stack, env);
  return { stack, child, options: loadOptions(stack, port, token, connections), rounds: [], cpu: [] };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function summarise(r: Running): Measurement {
  // The median round by throughput stands for the stack: one noisy round cannot move a ratio.
  const byRps = [...r.rounds].sort((a, b) => a.requests.average - b.requests.average);
  const mid = byRps[Math.floor((byRps.length - 1) / 2)]!;
  return {
    id: r.stack.id,
    label: r.stack.label,
    rps: median(r.rounds.map((x) => x.requests.average)),
    p50: mid.latency.p50,
    p99: mid.latency.p99,
    errors: r.rounds.reduce((n, x) => n + x.errors + x.timeouts, 0),
    non2xx: r.rounds.reduce((n, x) => n + x.non2xx, 0),
    requests: r.rounds.reduce((n, x) => n + x.requests.total, 0),
    ...(r.cpu.length === r.rounds.length && r.cpu.length > 0 ? { cpuUs: median(r.cpu) } : {}),
  };
}

async function main() {
  const { child: fixturesChild, fixtures: f, env } = await startFixtures();
  const running: Running[] = [];
  const results = new Map<string, Measurement>();
  try {
    // Every stack runs at once (idle while another is measured), and the measurement goes round
    // the stacks `rounds` times: drift of a shared machine then touches every stack alike instead
    // of favouring whichever ran first.
    for (const stack of STACKS) {
      if (only && !only.includes(stack.id)) continue;
      const r = await launch(stack, env, f.token);
      await autocannon({ ...r.options, duration: 2 }); // warm-up: JIT, caches, connection pools
      running.push(r);
    }
    for (let round = 1; round <= rounds; round++) {
      for (const r of running) {
        const before = cpuMs(r.child.pid);
        r.rounds.push(await autocannon({ ...r.options, duration }));
        const after = cpuMs(r.child.pid);
        const last = r.rounds[r.rounds.length - 1]!;
        const cpu = before !== undefined && after !== undefined && last.requests.total > 0 ? ((after - before) * 1000) / last.requests.total : undefined;
        if (cpu !== undefined) r.cpu.push(cpu);
        process.stderr.write(
          `bench: round ${round}/${rounds} ${r.stack.label}: ${Math.round(last.requests.average)} req/s, p99 ${last.latency.p99} ms, non-2xx ${last.non2xx}, errors ${last.errors}${cpu === undefined ? '' : `, ${cpu.toFixed(1)} µs CPU/request`}\n`,
        );
      }
    }
    for (const r of running) results.set(r.stack.id, summarise(r));
  } finally {
    await Promise.all([...running.map((r) => stop(r.child)), stop(fixturesChild)]);
  }
  const comparisons: Comparison[] = COMPARISONS.filter((c) => results.has(c.ours) && results.has(c.peer)).map((c) => ({
    ...c,
    ratio: results.get(c.ours)!.rps / results.get(c.peer)!.rps,
  }));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const figures = only ? [] : await extraFigures();
  const previousReport = join(__dirname, '../docs/benchmarks.md');
  const previous = existsSync(previousReport) ? previousFigures(readFileSync(previousReport, 'utf8')) : new Map<string, number>();
  const measurements = [...results.values()];
  writeReport({
    machine,
    duration,
    rounds,
    connections,
    measurements,
    comparisons,
    figures,
    regressions: regressions(measurements, previous, REGRESSION_WATCH),
    write: process.env.BENCH_NO_WRITE !== '1',
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
