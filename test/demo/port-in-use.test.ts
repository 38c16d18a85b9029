/**
 * `npm start` and `npm run walkthrough` when the port they are told to use is taken: one clear
 * line naming the port and the way out, exit code 1, no stack trace.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const root = join(__dirname, '../..');

function run(script: string, port: number | string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), script], { cwd: root, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

describe('the demo on a port that is taken', () => {
  let taken: http.Server;
  let port: number;
  beforeAll(async () => {
    taken = http.createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => taken.close(resolve)));

  it.each(['demo/start.ts', 'demo/walkthrough.ts'])('%s says the port is in use and to set PORT, and exits 1 without a stack', async (script) => {
    const { code, out, err } = await run(script, port);
    expect(code).toBe(1);
    expect(err.trim()).toMatch(new RegExp(`^[^\\n]*port ${port} is in use, set PORT[^\\n]*$`));
    expect(err).not.toMatch(/^\s+at /m);
    expect(out).toBe('');
  }, 30_000);

  it('says what PORT must be when it is not a port number', async () => {
    const { code, err } = await run('demo/start.ts', 'eighty');
    expect(code).toBe(1);
    expect(err.trim()).toBe('could not start the demo: PORT must be a port number (0 to 65535), got "eighty"');
  }, 30_000);
});
