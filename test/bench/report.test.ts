import { summarise } from '../../bench/profile';
import { previousFigures, regressions, writeReport, type Measurement } from '../../bench/report';

const measurement = (id: string, rps: number): Measurement => ({ id, label: id, rps, p50: 1, p99: 2, errors: 0, non2xx: 0, requests: 1 });

function printed(ratio: number, goal: number): string {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
  try {
    writeReport({
      machine: 'test',
      duration: 1,
      rounds: 1,
      connections: 1,
      measurements: [measurement('ours', 1_000_000 / 80), measurement('peer', (1_000_000 / 80) / ratio)],
      comparisons: [{ name: 'pair', ours: 'ours', peer: 'peer', goal, ratio }],
      figures: [],
      write: false,
    });
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

describe('bench report', () => {
  it('never prints a missed goal rounded up to it', () => {
    expect(printed(0.748, 0.75)).toContain('| pair | 0.748× | ≥ 0.75× | no |');
    expect(printed(0.751, 0.75)).toContain('| pair | 0.75× | ≥ 0.75× | yes |');
  });

  it('gives each ratio as microseconds per request and how far a missed goal is', () => {
    // ours: 80 µs; peer: 80 × 0.5 = 40 µs; goal 1× means ours at most 40 µs, 40 µs over.
    expect(printed(0.5, 1)).toContain('| pair | 80.0 | 40.0 | 40.0 | 40.0 |');
    expect(printed(2, 1)).toContain('| pair | 80.0 | 160.0 | 160.0 | met |');
  });
});

describe('bench report against the previous run', () => {
  const previous = `# Benchmarks

## Throughput and latency

| stack | req/s | p50 ms | p99 ms | errors | non-2xx |
|---|---:|---:|---:|---:|---:|
| bare Express | 16,000 | 1 | 7 | 0 | 0 |
| tollgate full stack, cache hit | 12,800 | 1 | 8 | 0 | 0 |

## Ratios
| not | a figure |
`;

  it('reads the req/s of each stack the previous report held', () => {
    expect([...previousFigures(previous)]).toEqual([
      ['bare Express', 16_000],
      ['tollgate full stack, cache hit', 12_800],
    ]);
  });

  it('compares each watched stack relative to bare Express of its own run, so machine speed cancels out', () => {
    const now = [
      { ...measurement('express', 8_000), label: 'bare Express' },
      { ...measurement('full-hit', 6_000), label: 'tollgate full stack, cache hit' },
      { ...measurement('cache', 5_000), label: 'a stack the previous run did not have' },
    ];
    const rows = regressions(now, previousFigures(previous), { ids: ['full-hit', 'cache'], baseline: 'express', goal: 0.95 });
    // Now 6,000 / 8,000 = 0.75 of bare Express; then 12,800 / 16,000 = 0.8: 0.9375×, a regression.
    expect(rows).toEqual([{ id: 'full-hit', label: 'tollgate full stack, cache hit', now: 0.75, then: 0.8, goal: 0.95 }]);
    expect(regressions(now, new Map(), { ids: ['full-hit'], baseline: 'express', goal: 0.95 })).toEqual([]);
  });
});

describe('bench profile summary', () => {
  it("counts self samples per function and the share of tollgate's compiled code", () => {
    const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('writeExit', 'file:///repo/dist/core/node.js', 272) },
        { id: 2, callFrame: frame('handle', 'file:///repo/node_modules/router/index.js', 148) },
        { id: 3, callFrame: frame('(garbage collector)', '') },
        { id: 4, callFrame: frame('get', 'file:///repo/node_modules/lru-cache/dist/commonjs/index.js', 9) },
      ],
      samples: [1, 1, 1, 2, 2, 3, 4, 1],
    };
    const text = summarise(profile);
    expect(text).toContain("8 samples; tollgate's own code (dist/): 50.0%");
    expect(text).toContain(' 50.0%  writeExit dist/core/node.js:273');
    expect(text).toContain(' 25.0%  handle router/index.js:149');
    expect(text).toContain(' 12.5%  get lru-cache/dist/commonjs/index.js:10');
  });
});
