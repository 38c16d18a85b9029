/**
 * `require('tollgate')` loads no store client: ioredis is loaded when a plugin is given a Redis
 * option, rate-limiter-flexible when a rateLimit uses `policy: 'cluster'`. Checked in a fresh
 * Node process (jest's module registry is not Node's), on the sources through tsx.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Runs `script` in a new Node process (CommonJS, sources through tsx) and returns its JSON output. */
function inFreshProcess(script: string): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out) as Record<string, unknown>;
}

const LOADED = `
const loaded = (name) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/'));
const report = () => ({ ioredis: loaded('ioredis'), rlf: loaded('rate-limiter-flexible'), pg: loaded('pg'), mysql2: loaded('mysql2') });
`;

describe("require('tollgate')", () => {
  it('loads neither ioredis nor rate-limiter-flexible nor a SQL client', () => {
    const result = inFreshProcess(`${LOADED}
      const tollgate = require('./src/index.ts');
      const before = report();
      tollgate.rateLimit({ minute: 5 });
      tollgate.proxyCache({ strategy: 'memory' });
      process.stdout.write(JSON.stringify({ before, local: report() }));
    `);
    expect(result).toEqual({
      before: { ioredis: false, rlf: false, pg: false, mysql2: false },
      local: { ioredis: false, rlf: false, pg: false, mysql2: false },
    });
  });

  it('loads ioredis once a plugin is given a Redis option', () => {
    const result = inFreshProcess(`${LOADED}
      const tollgate = require('./src/index.ts');
      const limit = tollgate.rateLimit({ minute: 5, policy: 'redis', redis: { url: 'redis://127.0.0.1:6379' } });
      const after = report();
      limit.close().then(() => process.stdout.write(JSON.stringify(after)));
    `);
    expect(result).toEqual({ ioredis: true, rlf: false, pg: false, mysql2: false });
  });

  it.each([
    ['pg', "new (require('pg').Pool)({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 50 })", 'pool.end()'],
    ['mysql2', "require('mysql2').createPool({ host: '127.0.0.1', port: 1, database: 'test' })", 'pool.end(() => {})'],
  ])('loads rate-limiter-flexible for policy: "cluster" with a %s pool, and no other SQL client', (type, create, end) => {
    // The app requires its own client and passes the pool; tollgate loads none.
    const result = inFreshProcess(`${LOADED}
      const tollgate = require('./src/index.ts');
      tollgate.setLogger({ debug() {}, info() {}, warn() {}, error() {} });
      const pool = ${create};
      const limit = tollgate.rateLimit({ minute: 5, policy: 'cluster', cluster: { client: pool, type: '${type}' } });
      const after = report();
      limit.close().then(() => {
        process.stdout.write(JSON.stringify(after));
        ${end};
      });
    `);
    expect(result).toEqual({ ioredis: false, rlf: true, pg: type === 'pg', mysql2: type === 'mysql2' });
  });
});
