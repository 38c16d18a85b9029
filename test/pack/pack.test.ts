/**
 * What a user's project does with the published package: install the `npm pack` tarball into a
 * scratch project, import every entry point from ESM, require the root from CommonJS, and run a
 * jest suite that uses `tollgate/testing`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });

describe('the packed tarball', () => {
  let scratch: string;
  let tarball: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'tollgate-pack-'));
    run('npm', ['run', 'build', '--silent'], root);
    tarball = run('npm', ['pack', '--silent', '--pack-destination', scratch], root).trim().split('\n').pop()!;
    cpSync(join(__dirname, 'fixture'), scratch, { recursive: true });
    // The type packages a TypeScript user of Express and Koa has, at the versions this repository uses.
    const dev = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
    const types = ['@types/express', '@types/koa', '@types/node'].map((name) => `${name}@${dev[name]}`);
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(scratch, tarball), 'express@5', 'koa@3', 'fastify@5', 'prom-client@15', '@opentelemetry/api@1', ...types], scratch);
  }, 240_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('holds the compiled entry points with their type declarations', () => {
    const listing = run('npm', ['pack', '--dry-run', '--json'], root);
    const files = (JSON.parse(listing) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    for (const entry of Object.values(pkg.exports)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { types, default: js } = entry as { types: string; default: string };
      expect(files).toContain(types.replace(/^\.\//, ''));
      expect(files).toContain(js.replace(/^\.\//, ''));
    }
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md']));
  });

  it('ships no source map pointing at sources it does not ship', () => {
    const listing = run('npm', ['pack', '--dry-run', '--json'], root);
    const files = (JSON.parse(listing) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const js = files.filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(10);
    const referencing = js.filter((f) => readFileSync(join(root, f), 'utf8').includes('//# sourceMappingURL='));
    expect(referencing).toEqual([]);
  });

  it('maps every subpath export in typesVersions, for moduleResolution node', () => {
    const { typesVersions } = pkg as unknown as { typesVersions: Record<string, Record<string, string[]>> };
    const subpaths = Object.entries(pkg.exports).filter(([k, v]) => k !== '.' && typeof v === 'object' && v !== null);
    expect(Object.fromEntries(subpaths.map(([k, v]) => [k.slice(2), [(v as { types: string }).types]]))).toEqual(typesVersions['*']);
  });

  it('imports every entry point from ESM', () => {
    const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => k.replace(/^\./, 'tollgate'));
    const script = `const names = {}; for (const e of ${JSON.stringify(entries)}) names[e] = Object.keys(await import(e)).sort(); console.log(JSON.stringify(names));`;
    const names = JSON.parse(run('node', ['--input-type=module', '-e', script], scratch)) as Record<string, string[]>;
    expect(names['tollgate']).toEqual(expect.arrayContaining(['definePlugin', 'ConfigError', 'TollgateError']));
    expect(names['tollgate/express']).toEqual(expect.arrayContaining(['gateway', 'getContext']));
    expect(names['tollgate/koa']).toEqual(expect.arrayContaining(['gateway', 'getContext']));
    expect(names['tollgate/fastify']).toEqual(expect.arrayContaining(['gateway', 'getContext']));
    expect(names['tollgate/node']).toEqual(expect.arrayContaining(['gateway', 'getContext']));
    expect(names['tollgate']).toEqual(expect.arrayContaining(['oidc', 'rateLimit', 'proxyCache', 'upstreamProxy']));
    expect(names['tollgate/testing']).toEqual(expect.arrayContaining(['createTestContext', 'runPlugin', 'createTestIssuer', 'createEchoUpstream']));
    expect(names['tollgate/dcr']).toEqual(expect.arrayContaining(['auth0Registrar', 'openidRegistrar', 'RegistrationError']));
    expect(names['tollgate/prometheus']).toEqual(expect.arrayContaining(['prometheus']));
    expect(names['tollgate/otel']).toEqual(expect.arrayContaining(['otel']));
    expect(names['tollgate/kong']).toEqual(expect.arrayContaining(['fromKong', 'checkKong']));
    expect(names['tollgate']).toEqual(expect.arrayContaining(['consumers', 'perConsumer']));
  });

  it("loads the yaml parser only through tollgate/kong", () => {
    const script = "require('tollgate'); require('tollgate/express'); const before = Object.keys(require.cache).some((f) => f.includes('/node_modules/yaml/')); require('tollgate/kong'); console.log(JSON.stringify([before, Object.keys(require.cache).some((f) => f.includes('/node_modules/yaml/'))]))";
    expect(JSON.parse(run('node', ['-e', script], scratch))).toEqual([false, true]);
  });

  it('runs `npx tollgate kong check` from the installed package', () => {
    writeFileSync(join(scratch, 'kong.yaml'), '_format_version: "3.0"\nservices:\n  - name: s\n    url: http://127.0.0.1:9\n    routes: [{ name: r, paths: [/r] }]\nplugins:\n  - { name: acl }\n');
    const result = spawnSync('npx', ['--no-install', 'tollgate', 'kong', 'check', 'kong.yaml'], { cwd: scratch, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(result.stdout).toContain('route "r" matches /r');
    expect(result.stdout).toMatch(/plugins\[0\]\s+plugin acl: tollgate has no such plugin/);
    expect(result.status).toBe(1);
  });

  it('requires the root from CommonJS', () => {
    const out = run('node', ['-e', "const t = require('tollgate'); console.log(typeof t.definePlugin, typeof require('tollgate/express').gateway)"], scratch);
    expect(out.trim()).toBe('function function');
  });

  it('loads no optional integration from the root, and serves a request with tollgate/node', () => {
    const script = `
      const http = require('node:http');
      const t = require('tollgate');
      const loaded = Object.keys(require.cache).filter((f) => /node_modules\\/(fastify|fastify-plugin|express|koa)\\//.test(f));
      const server = http.createServer(require('tollgate/node').gateway(t.rateLimit({ minute: 3 })));
      server.listen(0, '127.0.0.1', async () => {
        const res = await fetch('http://127.0.0.1:' + server.address().port + '/x');
        server.close();
        console.log(JSON.stringify({ loaded, status: res.status, body: await res.json(), remaining: res.headers.get('x-ratelimit-remaining-minute') }));
      });`;
    const out = JSON.parse(run('node', ['-e', script], scratch)) as { loaded: string[]; status: number; body: unknown; remaining: string };
    expect(out).toEqual({ loaded: [], status: 404, body: { message: 'Not Found' }, remaining: '2' });
  });

  it('registers tollgate/fastify in a Fastify 5 app, with fastify-plugin from its own dependencies', () => {
    const script = `
      const app = require('fastify')();
      const t = require('tollgate');
      app.register(async (api) => {
        await api.register(require('tollgate/fastify').gateway(t.rateLimit({ minute: 3 })));
        api.get('/x', async (req) => ({ mount: require('tollgate/fastify').getContext(req).request.mountPath }));
      }, { prefix: '/api' });
      app.inject('/api/x').then((res) => console.log(JSON.stringify({ status: res.statusCode, body: res.json(), remaining: res.headers['x-ratelimit-remaining-minute'] })));`;
    const out = JSON.parse(run('node', ['-e', script], scratch)) as Record<string, unknown>;
    expect(out).toEqual({ status: 200, body: { mount: '/api' }, remaining: '2' });
  });

  it('loads prom-client and @opentelemetry/api only through their own entry points', () => {
    const loaded = "Object.keys(require.cache).filter((k) => /prom-client|@opentelemetry/.test(k)).length";
    expect(run('node', ['-e', `require('tollgate'); require('tollgate/express'); require('tollgate/testing'); console.log(${loaded})`], scratch).trim()).toBe('0');
    expect(Number(run('node', ['-e', `require('tollgate/prometheus'); require('tollgate/otel'); console.log(${loaded})`], scratch).trim())).toBeGreaterThan(0);
  });

  it('runs two copies of the package side by side, each with its own context and logger', () => {
    // A second copy, as a nested dependency would be: same code, another directory.
    const second = join(scratch, 'node_modules', 'tollgate-second');
    mkdirSync(second);
    run('tar', ['-xzf', join(scratch, tarball), '-C', second, '--strip-components=1'], scratch);
    const script = `
      const http = require('node:http');
      const express = require('express');
      const copies = [['first', 'tollgate', 'tollgate/express'], ['second', './node_modules/tollgate-second/dist/index.js', './node_modules/tollgate-second/dist/adapters/express.js']];
      const logs = { first: [], second: [] };
      const app = express();
      for (const [name, root, adapter] of copies) {
        const t = require(root);
        t.setLogger({ debug() {}, info() {}, warn() {}, error: (m) => logs[name].push(m) });
        const boom = t.definePlugin({ name: 'boom', priority: 1, headerFilter() { throw new Error(name); } });
        const tag = t.definePlugin({ name: 'tag', priority: 2, access(ctx) { ctx.shared[name] = true; } });
        app.use(require(adapter).gateway(tag, boom));
      }
      app.get('/', (req, res) => {
        const seen = copies.map(([, , adapter]) => Object.keys(require(adapter).getContext(req).shared));
        res.json(seen);
      });
      const server = app.listen(0, '127.0.0.1', async () => {
        const res = await fetch('http://127.0.0.1:' + server.address().port + '/');
        const seen = await res.json();
        server.close();
        const proto = http.ServerResponse.prototype;
        console.log(JSON.stringify({ status: res.status, seen, logs, prototype: [proto.writeHead.name, Object.hasOwn(proto, 'end')] }));
      });`;
    const out = JSON.parse(run('node', ['-e', script], scratch)) as { status: number; seen: string[][]; logs: Record<string, string[]>; prototype: unknown[] };
    expect(out.status).toBe(200);
    // Each copy keeps its own context on the request and never reads the other's.
    expect(out.seen).toEqual([['first'], ['second']]);
    // Each copy's failing filter is reported by that copy, through that copy's logger.
    expect(out.logs).toEqual({ first: ['plugin "boom" threw in headerFilter'], second: ['plugin "boom" threw in headerFilter'] });
    expect(out.prototype).toEqual(['writeHead', false]);
  });

  // TypeScript resolves subpath imports (`tollgate/express`) through `exports` with node16 and
  // bundler, and through `typesVersions` with the older `node` (node10), still common and ts-jest's
  // default without a tsconfig. docs/getting-started.md lists the supported settings.
  it.each([
    ['node16', 'node16'],
    ['nodenext', 'nodenext'],
    ['bundler', 'esnext'],
    ['node', 'commonjs'],
  ])('type-checks every entry point with moduleResolution %s', (moduleResolution, module) => {
    const tsc = require.resolve('typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--esModuleInterop', '--skipLibCheck', '--target', 'es2022', '--types', 'node'];
    const result = spawnSync('node', [tsc, ...args, '--module', module, '--moduleResolution', moduleResolution, 'entry-points.ts'], { cwd: scratch, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  }, 60_000);

  it("runs the user's jest suite that uses tollgate/testing", () => {
    const jest = require.resolve('jest/bin/jest');
    const result = spawnSync('node', [jest, '--rootDir', scratch, '--ci'], {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, SWC_JEST: require.resolve('@swc/jest') },
    });
    expect(result.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
    expect(result.status).toBe(0);
  }, 60_000);
});
