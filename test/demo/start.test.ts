/** `npm start` as a user runs it: a process that prints what to try and serves until stopped. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

describe('npm start', () => {
  it('prints the demo client and the curl commands, serves the walkthrough, and stops on SIGTERM', async () => {
    const root = join(__dirname, '../..');
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'demo/start.ts'], { cwd: root, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 20 s: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        if (out.includes('npm run walkthrough')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(out).toContain('client    id demo-client, secret demo-secret');
    expect(out).toContain('curl -i -u demo-client:demo-secret localhost:');
    const url = /on (http:\/\/localhost:\d+)\/httpbin/.exec(out)![1]!;
    const res = await fetch(`${url}/httpbin/get`, { headers: { authorization: `Basic ${Buffer.from('demo-client:demo-secret').toString('base64')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache-status')).toBe('Miss');
    await res.arrayBuffer();
    // /metrics counts what the walkthrough gateway did.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^tollgate_http_requests_total\{route="\/httpbin",code="200",source="upstream",consumer=""\} 1$/m);
    expect(metrics).toMatch(/^tollgate_idp_requests_total\{endpoint="token",outcome="ok"\} 1$/m);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
