/**
 * `tollgate kong check`, run as a user runs it: a child process, its output and exit code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'src/cli/index.ts', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('tollgate kong check', () => {
  let dir: string;
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const supported = `_format_version: "3.0"
services:
  - name: httpbin
    url: http://httpbin.org
    routes:
      - name: httpbin-route
        paths: [/httpbin]
        plugins:
          - { name: rate-limiting, config: { minute: 5, policy: local } }
          - { name: proxy-cache, config: { strategy: memory, cache_ttl: 30 } }
`;

  it('prints what each part maps to and exits 0 when everything runs', () => {
    const { code, out } = run('kong', 'check', write('ok.yaml', supported));
    expect(code).toBe(0);
    expect(out).toContain('service "httpbin" → upstreamProxy({"url":"http://httpbin.org"})');
    expect(out).toContain('route "httpbin-route" matches /httpbin, strip_path → service httpbin');
    expect(out).toMatch(/services\[0\]\.routes\[0\]\.plugins\[0\]\s+plugin rate-limiting → rateLimit\(/);
    expect(out).toContain('Runs, with a difference');
    expect(out).toContain('Everything in the file runs in tollgate.');
  });

  it('lists what is left out and exits 1 when anything is unsupported', () => {
    const { code, out } = run('kong', 'check', write('acl.yaml', `${supported}plugins:\n  - { name: acl, config: { allow: [admins] } }\n  - { name: cors }\n`));
    expect(code).toBe(1);
    expect(out).toMatch(/Left out: tollgate cannot run these \(2\):\n\s+plugins\[0\]\s+plugin acl: tollgate has no such plugin; left out\n\s+plugins\[1\]\s+plugin cors/);
    expect(out).toContain('2 parts cannot run in tollgate.');
  });

  it('exits 1 for what Kong itself refuses, and prints JSON with --json', () => {
    const { code, out } = run('kong', 'check', write('bad.yaml', '_format_version: "3.0"\nroutes:\n  - { name: r, paths: [/r], service: nowhere }\n'), '--json');
    expect(code).toBe(1);
    const findings = JSON.parse(out) as { path: string; status: string }[];
    expect(findings).toContainEqual(expect.objectContaining({ path: 'routes[0].service', status: 'invalid' }));
  });

  it('exits 2 with a message for a missing file or wrong arguments', () => {
    const missing = run('kong', 'check', join(dir, 'missing.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('cannot read');
    const usage = run('kong');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('usage: tollgate kong check');
  });
});
